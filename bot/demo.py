"""The offline demo: the real bot against the local Bot API, a scripted chat, then your turn.

No token and no network: a local Bot API on loopback stands in for Telegram, a fresh SQLite
database holds demo people, and every message the bot sends is printed as it arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sqlmodel import col, select

from bot.app import SanadApp, build_application
from bot.services import argos_models, invites, registry
from bot.services.translation import Translator
from bot.settings import PROJECT_ROOT, Settings
from localapi import LocalBotAPI, SentMessage, UserHandle
from storage.db import Database
from storage.models import MessageLink, Ticket

DEMO_TOKEN = "100000:SANAD-OFFLINE-DEMO"
DEMO_DB = PROJECT_ROOT / "data" / "demo.db"
# Seconds without any bot request after which a step counts as finished (SANAD_DEMO_PAUSE).
DEFAULT_PAUSE = 0.4
# Real models translate in a worker thread, with no request meanwhile: wait longer for them.
TRANSLATING_PAUSE = 1.5
WAIT_FOR_BOT = 15.0
INSTALL_COMMAND = (
    "python -m bot admin install-models "
    "translate-ar_en-1_0.argosmodel translate-en_ar-1_0.argosmodel"
)
GOODBYE = "Interrupted: the demo stopped everything it started. Goodbye."


@dataclass(frozen=True)
class PersonaSpec:
    """Who a demo persona is: their key, how the transcript names them, their account."""

    key: str
    label: str
    user_id: int
    language_code: str
    first_name: str
    about: str

    @property
    def short(self) -> str:
        """How a sentence names this persona ("Sam's chat", "the stranger's chat")."""
        return "the stranger" if self.key == "stranger" else self.first_name


PERSONAS = (
    PersonaSpec("amina", "Amina (family, Arabic)", 7_000_000_001, "ar", "Amina",
                "family member of KH-0042, writes Arabic"),
    PersonaSpec("sam", "Sam (caseworker)", 7_000_000_002, "en", "Sam",
                "her caseworker at Kent Refugee Action, reads English"),
    PersonaSpec("kim", "Kim (coordinator)", 7_000_000_003, "en", "Kim",
                "council coordinator, creates invites"),
    PersonaSpec("stranger", "A stranger", 7_000_000_004, "ar", "Stranger",
                "someone without an invite"),
    PersonaSpec("omar", "Omar (family, Arabic)", 7_000_000_005, "ar", "Omar",
                "Amina's husband, added and invited at the end of the story"),
)  # fmt: skip

COMMANDS = (
    (":as NAME", "chat as another persona"),
    (":tap LABEL", "tap the newest button whose label contains LABEL"),
    (":reply TEXT", "answer with Telegram's Reply on the last ticket message (K-0001 …)"),
    (":who", "list the personas"),
    (":help", "show these commands"),
    (":quit", "stop the demo (also Ctrl-D or Ctrl-C)"),
)


def personas_help() -> str:
    """The personas, one per line."""
    return "\n".join(f"  {p.key:<9} {p.label}: {p.about}" for p in PERSONAS)


def commands_help() -> str:
    """The interactive commands, one per line."""
    lines = [f"  {usage:<12} {what}" for usage, what in COMMANDS]
    lines.append("  anything else is sent to the bot as the current persona's message")
    return "\n".join(lines)


# ---------------------------------------------------------------- translation


@dataclass(frozen=True)
class TranslationSetup:
    """Which models the demo's bot uses, and how the transcript explains translation."""

    real: bool
    bot_models_dir: Path | None
    explanation: tuple[str, ...]


def translation_setup(models_dir: Path) -> TranslationSetup:
    """Uses installed models only when every one is a known real package; else explains."""
    if not argos_models.argos_available():
        return TranslationSetup(False, None, (
            "argostranslate is not installed in this environment, so no message is translated:",
            "messages flow untranslated and are marked as such on both sides.",
            "Install it with: pip install -e '.[translation]' (the CPU build of torch first),",
            f"then the models with: {INSTALL_COMMAND}",
        ))  # fmt: skip
    installed = argos_models.installed_models(models_dir)
    real = [m for m in installed if m.sha256 in argos_models.KNOWN_PACKAGES]
    if installed and len(real) == len(installed):
        used = ", ".join(m.model_id for m in real)
        return TranslationSetup(True, models_dir, (
            f"Translation models installed in {models_dir}: {used}.",
            "Sam reads Amina's Arabic as English machine translation, marked as such, with her",
            "own words beneath; Amina reads Sam's English answer in Arabic the same way.",
        ))  # fmt: skip
    first: tuple[str, ...]
    if installed:
        first = (
            f"The models installed in {models_dir} are not the Argos Translate 1.0 packages",
            "(test models have random weights and write nonsense), so this demo does not use",
            "them: messages flow untranslated and are marked as such on both sides.",
        )
    else:
        first = (
            f"No translation model is installed (looked in {models_dir}), so in this demo",
            "messages flow untranslated and are marked as such on both sides.",
        )
    return TranslationSetup(False, None, (
        *first,
        "With the models installed, Sam would read Amina's Arabic as English machine",
        "translation, marked as such, with her own words beneath, and Amina would read Sam's",
        "answer in Arabic the same way. To install them (Argos Translate 1.0 package files):",
        f"  {INSTALL_COMMAND}",
        "then run the demo again (SANAD_MODELS_DIR chooses the folder; default data/models).",
    ))  # fmt: skip


# ---------------------------------------------------------------- the demo


@dataclass
class Persona:
    """A demo person and their chat with the bot, with what the transcript already showed."""

    spec: PersonaSpec
    handle: UserHandle
    shown: dict[int, tuple[str, str]] = field(default_factory=dict)
    answers: int = 0

    @property
    def key(self) -> str:
        """The name used with ``:as``."""
        return self.spec.key

    @property
    def label(self) -> str:
        """How the transcript names this persona."""
        return self.spec.label


@dataclass
class Demo:
    """Drives the demo: the people, their chats, and a transcript printed as things happen."""

    api: LocalBotAPI
    app: SanadApp
    db: Database
    out: TextIO = sys.stdout
    pause: float = DEFAULT_PAUSE
    personas: dict[str, Persona] = field(default_factory=dict)
    prompt: str | None = None
    _prompt_shown: bool = False

    # -- output ------------------------------------------------------------------------

    def say(self, line: str = "") -> None:
        """Prints one transcript line (below the prompt, if one is waiting)."""
        if self._prompt_shown:
            print(file=self.out)
            self._prompt_shown = False
        print(line, file=self.out, flush=True)

    def show_prompt(self) -> None:
        """Shows the input prompt again, if the terminal is waiting for a command."""
        if self.prompt is not None and not self._prompt_shown:
            print(self.prompt, end="", file=self.out, flush=True)
            self._prompt_shown = True

    def input_received(self) -> None:
        """The person pressed Enter: the cursor is on a fresh line."""
        self._prompt_shown = False
        self.prompt = None

    def show_new(self) -> None:
        """Prints every pop-up and message (new or edited) any persona has not seen printed."""
        printed = False
        for persona in self.personas.values():
            answers = persona.handle.callback_answers
            for answer in answers[persona.answers :]:
                if answer.get("text"):
                    self.say(f"   💬 Sanad → {persona.label} (pop-up): {answer['text']}")
                    printed = True
            persona.answers = len(answers)
            for message in persona.handle.messages:
                seen = (message.content, str(message.reply_markup))
                before = persona.shown.get(message.message_id)
                if before == seen:
                    continue
                persona.shown[message.message_id] = seen
                self._print_bot(persona, message, before)
                printed = True
        if printed:
            self.show_prompt()

    def _print_bot(
        self, persona: Persona, message: SentMessage, before: tuple[str, str] | None
    ) -> None:
        """One bot message as the persona sees it, with its buttons."""
        head = f"   🤖 Sanad → {persona.label}:"
        if before is not None and before[0] == message.content:
            change = "buttons changed" if message.buttons else "buttons removed"
            self.say(f"{head} ✏️ (message #{message.message_id}: {change})")
        else:
            text = message.content or f"[{message.kind}]"
            if message.kind != "text":
                text = f"[{message.kind}] {text}"
            lines = text.splitlines() or [""]
            mark = "✏️ (edited) " if before is not None else ""
            self.say(f"{head} {mark}{lines[0]}")
            for line in lines[1:]:
                self.say(f"   │ {line}")
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            self.say("   │ " + "  ".join(f"[ {button['text']} ]" for button in row))

    async def watch(self) -> None:
        """Prints each persona's incoming messages as they arrive, whoever is active."""
        world = self.api.world
        seen = world.change_seq
        while True:
            await world.wait_change(1.0)
            if world.change_seq == seen:
                continue
            await asyncio.sleep(0.05)  # a message and its immediate edit print together
            seen = world.change_seq
            try:
                self.show_new()
            except Exception as exc:  # the watcher must outlive one odd message
                self.say(f"   (a message could not be printed: {type(exc).__name__})")

    async def settle(self) -> None:
        """Waits until the bot is quiet, then makes sure everything it sent is printed."""
        await self.api.quiet(self.pause, max_wait=60.0)
        self.show_new()

    async def _until(self, find: Callable[[], object]) -> object:
        """Waits (bounded) until ``find`` returns something, as the bot may still be busy."""
        deadline = time.monotonic() + WAIT_FOR_BOT
        while not (found := find()) and time.monotonic() < deadline:
            await self.api.world.wait_change(0.25)
        return found

    # -- personas ----------------------------------------------------------------------

    def add(self, spec: PersonaSpec) -> Persona:
        """Adds a persona with their own Telegram account."""
        handle = self.api.user(
            spec.user_id, first_name=spec.first_name, language_code=spec.language_code
        )
        persona = Persona(spec=spec, handle=handle)
        self.personas[spec.key] = persona
        return persona

    # -- actions -----------------------------------------------------------------------

    async def type(self, key: str, text: str) -> None:
        """The persona sends a message."""
        persona = self.personas[key]
        self.say(f"\n👤 {persona.label}: {text}")
        before = len(persona.handle.messages)
        persona.handle.send_text(text)
        # Every text gets an answer; on a busy machine it may come after a quiet spell, and the
        # next step must not tap a button of an older message meanwhile.
        await self._until(lambda: len(persona.handle.messages) > before)
        await self.settle()

    def find_button(
        self, key: str, matches: Callable[[str, str], bool]
    ) -> tuple[int, str, str] | None:
        """The newest inline callback button ``matches(label, data)`` accepts, or None."""
        for message in reversed(self.personas[key].handle.messages):
            for row in (message.reply_markup or {}).get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and matches(button["text"], data):
                        return message.message_id, button["text"], data
        return None

    async def press(self, key: str, message_id: int, label: str, data: str) -> None:
        """The persona taps one button."""
        persona = self.personas[key]
        self.say(f"\n👆 {persona.label} taps [ {label} ]")
        persona.handle.press(message_id, data)
        await self.settle()

    async def tap_data(self, key: str, pattern: str) -> None:
        """The script taps the button whose callback data matches (labels may be reworded)."""
        wanted = re.compile(pattern)
        found = await self._until(
            lambda: self.find_button(key, lambda _, data: bool(wanted.fullmatch(data)))
        )
        if not isinstance(found, tuple):
            raise RuntimeError(f"the script expected a button ({pattern}) in {key}'s chat")
        await self.press(key, *found)

    def buttons_now(self, key: str) -> str:
        """The buttons of the newest message that has any, for hints."""
        for message in reversed(self.personas[key].handle.messages):
            labels = [label for label, data in message.buttons if data]
            if labels:
                return "  ".join(f"[ {label} ]" for label in labels)
        return "(none)"

    def last_ticket_message(self, key: str) -> tuple[int, str] | None:
        """The newest message in the persona's chat that belongs to a ticket, with its ref."""
        chat_id = self.personas[key].handle.chat_id
        visible = {m.message_id for m in self.personas[key].handle.messages}
        with self.db.session() as session:
            links = session.exec(
                select(MessageLink)
                .where(col(MessageLink.chat_id) == chat_id)
                .order_by(col(MessageLink.message_id).desc())
            ).all()
            for link in links:
                ticket = session.get(Ticket, link.ticket_id)
                if link.message_id in visible and ticket is not None:
                    return link.message_id, ticket.reference
        return None

    async def reply_to_ticket(self, key: str, text: str) -> bool:
        """Telegram's Reply on the last ticket message; False when there is none."""
        persona = self.personas[key]
        target = self.last_ticket_message(key)
        if target is None:
            return False
        message_id, reference = target
        self.say(f"\n↩️ {persona.label} replies to {reference} (message #{message_id}): {text}")
        persona.handle.send_text(text, reply_to=message_id)
        await self.settle()
        return True

    async def admin(self, settings: Settings, *argv: str) -> None:
        """Runs an admin command in-process, as an operator would, and prints its answer."""
        from bot.admin import run

        self.say(f"\n$ python -m bot admin {shlex.join(argv)}")
        buffer = io.StringIO()
        # SystemExit: argparse's answer to bad arguments, printed like any other answer.
        with (
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
            contextlib.suppress(SystemExit),
        ):
            run(list(argv), settings=settings)
        for line in buffer.getvalue().splitlines():
            self.say(f"   {line}")


# ---------------------------------------------------------------- the story


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


def scene(demo: Demo, title: str) -> None:
    """A scene heading."""
    demo.say(f"\n— {title} —")


async def script(
    demo: Demo, codes: dict[str, str], settings: Settings, translation: TranslationSetup
) -> None:
    """The scripted story, printed as it happens."""
    demo.say("═" * 78)
    demo.say("Sanad offline demo: the real bot, a local Bot API on loopback, no network.")
    demo.say("Every message the bot sends is printed as it arrives, with whom it went to.")
    demo.say("═" * 78)
    scene(demo, "A family member joins with her invite link, in Arabic")
    await demo.type("amina", f"/start {codes['amina']}")
    await demo.tap_data("amina", r"consent:ok")
    await demo.tap_data("amina", r"menu:book")
    scene(demo, "She switches the bot to English, and back")
    await demo.type("amina", "/language")
    await demo.tap_data("amina", r"lang:en")
    await demo.type("amina", "/language")
    await demo.tap_data("amina", r"lang:ar")
    scene(demo, "The caseworker joins; Amina reports a broken boiler")
    await demo.type("sam", f"/start {codes['sam']}")
    await demo.tap_data("amina", r"menu:report")
    await demo.tap_data("amina", r"rep:cat:housing")
    await demo.type("amina", "المدفأة معطلة منذ يومين والأطفال يشعرون بالبرد")
    await demo.tap_data("amina", r"rep:send")
    await demo.tap_data("amina", r"rep:confirm")
    await demo._until(lambda: demo.last_ticket_message("sam"))
    await demo.settle()
    scene(demo, "Translation: how Sam and Amina read each other")
    for line in translation.explanation:
        demo.say(f"   {line}")
    scene(demo, "Sam answers with Telegram's Reply on the ticket message")
    await demo.reply_to_ticket("sam", "An engineer will visit tomorrow between 9 and 12.")
    scene(demo, "Sam resolves it; Amina says it helped")
    await demo.tap_data("sam", r"tk:resolve:\d+")
    await demo.tap_data("amina", r"fam:helpful:\d+:1")
    scene(demo, "Someone without an invite writes")
    await demo.type("stranger", "مرحبا، أريد المساعدة")
    scene(demo, "The coordinator joins; the operator adds Amina's husband Omar")
    await demo.type("kim", f"/start {codes['kim']}")
    await demo.admin(settings, "add-member", "--family", "KH-0042", "--name", "Omar")
    scene(demo, "Kim invites Omar from Telegram")
    await demo.type("kim", "/invite family KH-0042 Omar")
    invite = re.compile(r"start=([A-Za-z0-9_-]+)")
    kim = demo.personas["kim"].handle
    code = invite.search(kim.last.content if kim.last else "")
    if code is None:
        demo.say("   (Kim got no invite link, so Omar cannot join: see the answer above.)")
        return
    scene(demo, "Omar opens the link on his phone and joins")
    await demo.type("omar", f"/start {code.group(1)}")
    await demo.tap_data("omar", r"consent:ok")


# ---------------------------------------------------------------- your turn


async def stdin_lines(queue: asyncio.Queue[str | None]) -> Callable[[], None]:
    """Feeds stdin lines into ``queue`` (None at end); returns a function that stops it."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = [""]

    def feed(chunk: bytes) -> None:
        """Splits what arrived into lines."""
        if not chunk:
            if pending[0]:
                queue.put_nowait(pending[0])
            queue.put_nowait(None)
            return
        *lines, pending[0] = (pending[0] + decoder.decode(chunk)).split("\n")
        for line in lines:
            queue.put_nowait(line.rstrip("\r"))

    def readable() -> None:
        """The terminal has input: read it without blocking the loop."""
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            loop.remove_reader(fd)
        feed(chunk)

    def stop() -> None:
        """Stops watching the terminal."""
        loop.remove_reader(fd)

    try:
        loop.add_reader(fd, readable)
        return stop
    except (PermissionError, ValueError, OSError):
        pass  # a plain file cannot be watched by the loop

    def read_all() -> None:
        """Reads a file to its end (os.read holds no lock that interpreter exit waits for)."""
        while chunk := os.read(fd, 4096):
            loop.call_soon_threadsafe(feed, chunk)
        loop.call_soon_threadsafe(feed, b"")

    threading.Thread(target=read_all, daemon=True).start()
    return lambda: None


async def command(demo: Demo, current: str, line: str) -> str:
    """Runs one line typed at the prompt; returns the persona that is now active."""
    name, _, arg = line.partition(" ")
    arg = arg.strip()
    who = demo.personas[current]
    if name == ":as":
        wanted = arg.lower()
        if wanted in demo.personas:
            demo.say(f"Now chatting as {demo.personas[wanted].label}.")
            return wanted
        if arg:
            demo.say(f"There is no persona called {arg!r}. The personas are:")
        else:
            demo.say("Usage: :as NAME (chat as another persona). The personas are:")
        demo.say(personas_help())
    elif name == ":tap":
        if not arg:
            demo.say("Usage: :tap LABEL (tap the newest button whose label contains LABEL).")
            demo.say(f"Buttons in {who.spec.short}'s chat now: {demo.buttons_now(current)}")
            return current
        wanted = arg.casefold()
        found = demo.find_button(current, lambda label, _: wanted in label.casefold())
        if found is None:
            demo.say(f"No button containing {arg!r} in {who.spec.short}'s chat.")
            demo.say(f"Buttons there now: {demo.buttons_now(current)}")
            return current
        await demo.press(current, *found)
    elif name == ":reply":
        target = demo.last_ticket_message(current)
        if not arg:
            demo.say("Usage: :reply TEXT (Telegram's Reply on the last ticket message).")
            if target is not None:
                demo.say(f"It would reply to {target[1]} (message #{target[0]}).")
        if not arg or target is None:
            if target is None:
                demo.say(
                    f"No ticket message in {who.spec.short}'s chat to reply to yet "
                    "(ticket messages carry a reference like K-0001); type plain text instead."
                )
            return current
        await demo.reply_to_ticket(current, arg)
    elif name == ":who":
        demo.say(personas_help())
        demo.say(f"Now chatting as {who.label}.")
    elif name in (":help", ":?"):
        demo.say(commands_help())
    else:
        demo.say(f"Unknown command {name!r}. The commands are:")
        demo.say(commands_help())
    return current


def is_command(line: str) -> bool:
    """``:word …`` is a demo command; anything else (even ``:)``) goes to the bot."""
    return re.match(r":[a-z?]+(\s|$)", line) is not None


async def chat_from_terminal(demo: Demo) -> None:
    """Chat with the bot as any persona; other personas' messages print as they arrive."""
    demo.say("\nYour turn. Type a message to send it as the current persona.")
    demo.say(commands_help())
    demo.say("Personas:")
    demo.say(personas_help())
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    stop_reading = await stdin_lines(queue)
    current = "amina"
    try:
        while True:
            demo.prompt = f"[{current}]> "
            demo.show_prompt()
            line = await queue.get()
            demo.input_received()
            if line is None:
                return
            line = line.strip()
            if line in (":quit", ":q", ":exit"):
                return
            if not line:
                continue
            try:
                if is_command(line):
                    current = await command(demo, current, line)
                else:
                    await demo.type(current, line)
            except Exception as exc:  # a demo command must never end the demo
                demo.say(f"That did not work ({type(exc).__name__}: {exc}); the demo goes on.")
    finally:
        demo.prompt = None
        stop_reading()


# ---------------------------------------------------------------- running it


def _pause_from_env() -> float:
    """SANAD_DEMO_PAUSE, or the default."""
    try:
        return float(os.environ.get("SANAD_DEMO_PAUSE", DEFAULT_PAUSE))
    except ValueError:
        return DEFAULT_PAUSE


def _configured_models_dir() -> Path:
    """SANAD_MODELS_DIR (from the environment or .env), even if another setting is invalid."""
    try:
        return Settings.from_env().models_dir
    except ValueError:  # e.g. a non-numeric OUTBOX_INTERVAL: the demo does not use it
        return Path(os.environ.get("SANAD_MODELS_DIR", "").strip() or Settings().models_dir)


async def run_demo(
    *,
    interactive: bool = False,
    database: Path = DEMO_DB,
    out: TextIO = sys.stdout,
    models_dir: Path | None = None,
    pause: float | None = None,
) -> int:
    """Runs the whole demo; leaves no server, task or process behind, even on Ctrl-C."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    translation = translation_setup(models_dir or _configured_models_dir())
    api = LocalBotAPI(token=DEMO_TOKEN, bot_username="sanad_demo_bot")
    db = Database(f"sqlite:///{database}")
    app: SanadApp | None = None
    watcher: asyncio.Task[None] | None = None
    out_of_models = tempfile.TemporaryDirectory(prefix="sanad-demo-")
    ending = "\nDemo finished. Everything it started has stopped."
    try:
        await api.start()
        db.upgrade()
        codes = seed_demo(db)
        settings = Settings(
            bot_token=DEMO_TOKEN,
            bot_username="sanad_demo_bot",
            api_base_url=api.base_url,
            api_base_file_url=api.base_file_url,
            database_url=db.url,
            models_dir=translation.bot_models_dir or Path(out_of_models.name),
            # The demo's local Bot API has no limits; Telegram's 1/s per chat would only make
            # each scene wait.
            send_rate=1000.0,
            send_rate_per_chat=1000.0,
        )
        app = build_application(
            settings, db, translator=Translator(models_dir=settings.models_dir)
        )
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)  # as run_polling does
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        warm_up = app.bot_data.extras.get("warm_up")
        if warm_up is not None:
            # Real models load once (a few seconds) before the story, not during a step; a
            # failure shows in the transcript as messages marked untranslated.
            with contextlib.suppress(Exception):
                await warm_up
        step = _pause_from_env() if pause is None else pause
        if translation.real:
            step = max(step, TRANSLATING_PAUSE)
        demo = Demo(api=api, app=app, db=db, out=out, pause=step)
        for spec in PERSONAS:
            demo.add(spec)
        watcher = asyncio.ensure_future(demo.watch())
        try:
            await script(demo, codes, settings, translation)
        except (RuntimeError, AssertionError) as exc:  # the bot did not answer as expected
            demo.say(f"\nThe scripted story stopped early: {exc}")
            ending = "Demo stopped. Everything it started has stopped."
            return 1
        await demo.settle()
        if interactive:
            await chat_from_terminal(demo)
            await demo.settle()
        return 0
    except asyncio.CancelledError:
        ending = f"\n{GOODBYE}"  # Ctrl-C: asyncio.run cancels us, then raises KeyboardInterrupt
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if app is not None:
            with contextlib.suppress(Exception):
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await app.shutdown()
                if app.post_shutdown is not None:  # as run_polling does: background work stops
                    await app.post_shutdown(app)
        await api.stop()
        db.dispose()
        out_of_models.cleanup()
        print(ending, file=out, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """``python -m bot demo`` options, with the personas and commands in --help."""
    parser = argparse.ArgumentParser(
        prog="python -m bot demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "The offline demo: the real bot against a local Bot API on loopback, a fresh demo\n"
            "database, no token and no network. It prints a scripted story as it happens,\n"
            "then (on a terminal) lets you chat as each persona."
        ),
        epilog=(
            f"personas:\n{personas_help()}\n\ncommands (after the story):\n{commands_help()}\n\n"
            "environment:\n"
            "  SANAD_MODELS_DIR   translation models to use (default data/models)\n"
            f"  SANAD_DEMO_PAUSE   seconds the bot must be quiet to end a step "
            f"(default {DEFAULT_PAUSE})"
        ),
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--interactive", dest="interactive", action="store_true", default=None,
        help="chat after the story (default: when stdin is a terminal)",
    )  # fmt: skip
    mode.add_argument(
        "--no-interactive", dest="interactive", action="store_false",
        help="print the story and stop",
    )  # fmt: skip
    parser.add_argument(
        "--database", type=Path, default=DEMO_DB, metavar="FILE",
        help="demo SQLite database, recreated each run (default data/demo.db)",
    )  # fmt: skip
    return parser


def main(argv: list[str]) -> int:
    """``python -m bot demo``: 0 at the end, 130 after Ctrl-C (with a one-line goodbye)."""
    args = build_parser().parse_args(argv)
    interactive = sys.stdin.isatty() if args.interactive is None else args.interactive
    from bot.logs import configure_logging

    configure_logging("WARNING")
    try:
        return asyncio.run(run_demo(interactive=interactive, database=args.database))
    except KeyboardInterrupt:
        return 130
