"""The offline demo: the real bot against the local Bot API, a scripted chat, then your turn.

No token and no network: a local Bot API server on loopback stands in for Telegram, a fresh
SQLite database under ``data/`` holds demo people, and the transcript shows what each person
sees in Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bot.app import SanadApp, build_application
from bot.services import invites, registry
from bot.settings import PROJECT_ROOT, Settings
from localapi import LocalBotAPI, SentMessage, UserHandle
from storage.db import Database

DEMO_TOKEN = "100000:SANAD-OFFLINE-DEMO"
DEMO_DB = PROJECT_ROOT / "data" / "demo.db"


@dataclass
class Persona:
    """A demo person and their chat with the bot."""

    key: str
    label: str
    handle: UserHandle
    shown: dict[int, tuple[str, str]] = field(default_factory=dict)
    answers: int = 0


@dataclass
class Demo:
    """Drives the demo: the people, their chats, and a readable transcript."""

    api: LocalBotAPI
    app: SanadApp
    db: Database
    out: object = sys.stdout
    personas: dict[str, Persona] = field(default_factory=dict)

    def say(self, line: str = "") -> None:
        """Prints one transcript line."""
        print(line, file=self.out, flush=True)  # type: ignore[call-overload]

    def add(self, key: str, label: str, user_id: int, language_code: str, name: str) -> Persona:
        """Adds a persona with their own Telegram account."""
        handle = self.api.user(user_id, first_name=name, language_code=language_code)
        persona = Persona(key=key, label=label, handle=handle)
        self.personas[key] = persona
        return persona

    async def flush(self, persona: Persona) -> None:
        """Waits until the bot is quiet, then prints what this persona saw change."""
        await self.api.quiet(0.4)
        for answer in persona.handle.callback_answers[persona.answers :]:
            if answer.get("text"):
                self.say(f"   💬 (pop-up) {answer['text']}")
        persona.answers = len(persona.handle.callback_answers)
        for message in persona.handle.messages:
            shown = (message.content, str(message.reply_markup))
            if persona.shown.get(message.message_id) == shown:
                continue
            edited = message.message_id in persona.shown
            persona.shown[message.message_id] = shown
            self._print_bot(persona, message, edited=edited)

    def _print_bot(self, persona: Persona, message: SentMessage, *, edited: bool) -> None:
        """One bot message as the persona sees it, with its buttons."""
        text = message.content or f"[{message.kind}]"
        if message.kind != "text":
            text = f"[{message.kind}] {text}"
        lines = text.splitlines() or [""]
        mark = "✏️ (edited) " if edited else ""
        self.say(f"   🤖 Sanad → {persona.label}: {mark}{lines[0]}")
        for line in lines[1:]:
            self.say(f"   │ {line}")
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            self.say("   │ " + "  ".join(f"[ {button['text']} ]" for button in row))

    async def type(self, key: str, text: str) -> None:
        """The persona sends a message."""
        persona = self.personas[key]
        self.say(f"\n👤 {persona.label}: {text}")
        persona.handle.send_text(text)
        await self.flush(persona)

    async def reply_to_last(self, key: str, text: str) -> None:
        """The persona uses Telegram's Reply on the newest bot message that has buttons."""
        persona = self.personas[key]
        target = next(m for m in reversed(persona.handle.messages) if m.reply_markup)
        self.say(f"\n↩️ {persona.label} replies to message #{target.message_id}: {text}")
        persona.handle.send_text(text, reply_to=target.message_id)
        await self.flush(persona)

    async def tap(self, key: str, label: str) -> None:
        """The persona taps the newest button whose label contains ``label``."""
        persona = self.personas[key]
        self.say(f"\n👆 {persona.label} taps [ {label} ]")
        persona.handle.press_button(label)
        await self.flush(persona)


def seed_demo(db: Database) -> dict[str, str]:
    """Demo provider, caseworker, coordinator and an Arabic-speaking family; returns codes."""
    with db.session() as session:
        registry.seed(session)
        districts = ["Dover", "Thanet", "Folkestone and Hythe"]
        registry.add_provider(session, name="Kent Refugee Action", districts=districts)
        caseworker = registry.add_staff(
            session, role="caseworker", name="Sam Taylor", provider="Kent Refugee Action"
        )
        coordinator = registry.add_staff(session, role="coordinator", name="Kim Patel")
        registry.add_family(
            session, ref="KH-0042", district="Dover", scheme="VPRS", arrived="2024-05-01",
            caseworker_id=caseworker.id,
        )  # fmt: skip
        amina = registry.add_member(session, family="KH-0042", name="Amina")
        return {
            "amina": invites.create_invite(session, member_id=amina.id).code,
            "sam": invites.create_invite(session, staff_id=caseworker.id).code,
            "kim": invites.create_invite(session, staff_id=coordinator.id).code,
        }


async def script(demo: Demo, codes: dict[str, str]) -> None:
    """The scripted conversation printed as a transcript."""
    demo.say("═" * 72)
    demo.say("Sanad offline demo: the real bot, a local Bot API on loopback, no network.")
    demo.say("═" * 72)
    demo.say("\n— A family member joins with her invite link, in Arabic —")
    await demo.type("amina", f"/start {codes['amina']}")
    await demo.tap("amina", "فهمت")
    await demo.tap("amina", "حجز موعد")
    demo.say("\n— She switches the bot to English, and back —")
    await demo.type("amina", "/language")
    await demo.tap("amina", "English")
    await demo.type("amina", "/language")
    await demo.tap("amina", "العربية")
    demo.say("\n— The caseworker joins; Amina reports a broken boiler —")
    await demo.type("sam", f"/start {codes['sam']}")
    await demo.tap("amina", "الإبلاغ عن مشكلة")
    await demo.tap("amina", "السكن والإصلاحات")
    await demo.type("amina", "المدفأة معطلة منذ يومين والأطفال يشعرون بالبرد")
    await demo.tap("amina", "إرسال")
    await demo.tap("amina", "نعم، أرسله")
    await demo.flush(demo.personas["sam"])
    demo.say("\n— Sam answers by replying to the ticket message —")
    await demo.reply_to_last("sam", "An engineer will visit tomorrow between 9 and 12.")
    await demo.flush(demo.personas["amina"])
    demo.say("\n— Sam resolves it; Amina says it helped —")
    await demo.tap("sam", "Resolve")
    await demo.flush(demo.personas["amina"])
    await demo.tap("amina", "نعم، ساعدني")
    demo.say("\n— Someone without an invite writes —")
    await demo.type("stranger", "مرحبا، أريد المساعدة")
    demo.say("\n— The coordinator joins and invites another family member —")
    await demo.type("kim", f"/start {codes['kim']}")
    await demo.type("kim", "/invite family KH-0042")


HELP = """
Your turn. Type a message to send it as the current persona.
  :as amina | sam | kim | stranger   switch persona
  :tap TEXT                           tap the newest button containing TEXT
  :reply TEXT                         Telegram-reply to the newest message with buttons
  :who                                list personas        :quit (or Ctrl-D) to stop
"""


def _stdin_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Reads stdin in a daemon thread, so Ctrl-C never waits for a blocked read."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def chat_from_terminal(demo: Demo) -> None:
    """Chat with the bot as any persona from the terminal."""
    demo.say(HELP)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_stdin_lines, args=(loop, queue), daemon=True).start()
    current = "amina"
    while True:
        print(f"[{current}]> ", end="", flush=True)
        line = await queue.get()
        if line is None or line.strip() in (":quit", ":q"):
            return
        line = line.strip()
        if not line:
            continue
        if line.startswith(":as "):
            wanted = line[4:].strip()
            if wanted in demo.personas:
                current = wanted
            else:
                demo.say("unknown persona; :who lists them")
        elif line == ":who":
            for key, persona in demo.personas.items():
                demo.say(f"  {key}: {persona.label}")
        elif line.startswith(":reply "):
            await demo.reply_to_last(current, line[7:].strip())
        elif line.startswith(":tap "):
            try:
                await demo.tap(current, line[5:].strip())
            except AssertionError:
                demo.say("no such button in this chat")
        else:
            await demo.type(current, line)


async def run_demo(*, interactive: bool = False,
                   database: Path = DEMO_DB, out: object = sys.stdout) -> int:  # fmt: skip
    """Runs the whole demo; leaves no server, task or process behind."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    api = LocalBotAPI(token=DEMO_TOKEN, bot_username="sanad_demo_bot")
    await api.start()
    db = Database(f"sqlite:///{database}")
    app: SanadApp | None = None
    try:
        db.upgrade()
        codes = seed_demo(db)
        settings = Settings(
            bot_token=DEMO_TOKEN,
            bot_username="sanad_demo_bot",
            api_base_url=api.base_url,
            api_base_file_url=api.base_file_url,
            database_url=db.url,
            models_dir=database.parent / "models",
        )
        app = build_application(settings, db)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)  # as run_polling does
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        demo = Demo(api=api, app=app, db=db, out=out)
        demo.add("amina", "Amina (family, Arabic)", 7_000_000_001, "ar", "Amina")
        demo.add("sam", "Sam (caseworker)", 7_000_000_002, "en", "Sam")
        demo.add("kim", "Kim (coordinator)", 7_000_000_003, "en", "Kim")
        demo.add("stranger", "A stranger", 7_000_000_004, "ar", "Stranger")
        await script(demo, codes)
        if interactive:
            await chat_from_terminal(demo)
        demo.say("\nDemo finished. Everything it started has stopped.")
        return 0
    finally:
        if app is not None:
            with contextlib.suppress(Exception):
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await app.shutdown()
        await api.stop()
        db.dispose()
