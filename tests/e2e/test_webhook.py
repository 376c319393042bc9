"""Webhook mode: each call is stored before it is answered 200, handled once, and never with
a wrong secret; the webhook is set on start and removed on stop; /health answers."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import build_application
from bot.inbound.webhook import HEALTH_PATH, SECRET_HEADER, CannotListen, WebhookServer
from bot.logs import cap_library_loggers
from bot.runner import ALLOWED_UPDATES
from bot.services import inbox, people, registry, tickets
from bot.services.people import Person
from bot.services.tickets import Part
from bot.settings import Settings
from localapi import LocalBotAPI, UserHandle
from storage.db import Database, DatabaseBusy
from storage.models import InboundState, InboundUpdate, Member, TicketMessage
from tests.e2e.conftest import TOKEN, Harness
from tests.e2e.test_tickets import HOUSING_AR, report, setup_provider

ROOT = Path(__file__).resolve().parents[2]
SECRET = "webhook-test-secret-7Qm2xZ9kLp"
SAM, FAMILY = 7_200_000_001, 7_200_000_002
WORDS = "الماء يتسرب من السقف في غرفة الأطفال"
SENT_AR = "تم الإرسال إلى مسؤول حالتك"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class WebhookHarness(Harness):
    """The bot in webhook mode: the local Bot API POSTs each update to its server."""

    server: WebhookServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        """The webhook URL the bot gives setWebhook."""
        return f"http://127.0.0.1:{self.port}/telegram/hook"

    async def start(self) -> None:
        """As webhook.run does: initialize, post_init, serve (sets the webhook), start."""
        self.app = build_application(self.settings, self.db)
        await self.app.initialize()
        assert self.app.post_init is not None
        await self.app.post_init(self.app)
        self.server = WebhookServer(
            self.app, self.db, url=self.url, secret=SECRET, listen="127.0.0.1",
            port=self.port, allowed_updates=ALLOWED_UPDATES,
        )  # fmt: skip
        await self.server.start()
        await self.app.start()

    async def stop(self) -> None:
        """Removes the webhook and stops the server, then the Application."""
        if self.app is None:
            return
        assert self.server is not None
        await self.server.stop()
        if self.app.running:
            await self.app.stop()
        assert self.app.post_shutdown is not None
        await self.app.post_shutdown(self.app)
        await self.app.shutdown()
        self.app = None


def _settings(api: LocalBotAPI, tmp_path: Path) -> Settings:
    """Settings for a bot against ``api`` over a file database."""
    return Settings(
        bot_token=TOKEN,
        bot_username="sanad_test_bot",
        api_base_url=api.base_url,
        api_base_file_url=api.base_file_url,
        database_url=f"sqlite:///{tmp_path / 'webhook.db'}",
        models_dir=tmp_path / "models",
        outbox_interval=3600.0,
        send_rate=1000.0,
        send_rate_per_chat=1000.0,
    )


def _seed(session: Session) -> None:
    """A caseworker, Sam, and one household whose member has an open request."""
    registry.seed(session)
    # Not the provider or districts of tests.e2e.test_tickets.setup_provider (also used here).
    registry.add_provider(session, name="Canterbury Welcome", districts=["Canterbury"])
    sam = registry.add_staff(session, role="caseworker", name="Sam", provider="Canterbury Welcome")
    sam.telegram_user_id = SAM
    registry.add_family(
        session, ref="KH-0900", district="Canterbury", scheme="VPRS", arrived="2024-05-01",
        caseworker_id=sam.id,
    )  # fmt: skip
    member = registry.add_member(session, family="KH-0900", name="Huda")
    member.telegram_user_id = FAMILY
    session.flush()
    person = people.identify(session, telegram_user_id=FAMILY, language_code="ar")
    person = Person(**{**person.__dict__, "consented": True})
    tickets.open_ticket(session, person=person, category="housing", parts=[Part(text="x")])
    for found in session.exec(select(Member)):
        found.consent_at = found.created_at
        session.add(found)


@pytest.fixture
async def hooked(api: LocalBotAPI, tmp_path: Path) -> AsyncIterator[WebhookHarness]:
    """A bot in webhook mode over a database with one household and its caseworker."""
    settings = _settings(api, tmp_path)
    db = Database(settings.database_url)
    db.create_all()
    with db.session() as session:
        _seed(session)
    running = WebhookHarness(api=api, db=db, settings=settings, port=free_port())
    await running.start()
    yield running
    await running.stop()
    db.dispose()


def people_of(api: LocalBotAPI) -> tuple[UserHandle, UserHandle]:
    """(Sam, the family member) as Telegram users."""
    return api.user(SAM, "Sam", language_code="en"), api.user(FAMILY, "Huda", language_code="ar")


def kept(db: Database, chat_id: int, message_id: int) -> int:
    """How many times the family's message was kept on the request."""
    with db.session() as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(TicketMessage)
                .where(
                    TicketMessage.source_chat_id == chat_id,
                    TicketMessage.source_message_id == message_id,
                )
            ).one()
        )


def inbox_rows(db: Database) -> list[InboundUpdate]:
    """Every update in the inbox."""
    with db.session() as session:
        return list(session.exec(select(InboundUpdate).order_by(col(InboundUpdate.update_id))))


async def until(check: Callable[[], bool], what: str) -> None:
    """Waits (at most twenty seconds) until ``check()`` holds."""
    for _ in range(2000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def statuses(api: LocalBotAPI, update_id: int) -> list[int]:
    """What the bot answered to each delivery of one update, in order."""
    return [d.status for d in api.webhook_deliveries if d.update_id == update_id]


async def _relayed_once(hooked: WebhookHarness, sent: dict[str, Any]) -> None:
    """The family's message reached Sam once, was kept once, and its update ended DONE."""
    sam, family = people_of(hooked.api)
    await family.wait_for(SENT_AR, timeout=20)
    await sam.wait_for(WORDS, timeout=20)
    await hooked.api.quiet()
    assert sum(WORDS in m.text for m in sam.messages) == 1
    assert sum(SENT_AR in m.text for m in family.messages) == 1
    assert kept(hooked.db, family.id, sent["message_id"]) == 1
    await until(
        lambda: all(r.state == InboundState.DONE for r in inbox_rows(hooked.db)),
        "every stored update marked handled",
    )


async def test_a_family_message_reaches_the_caseworker_exactly_once(
    hooked: WebhookHarness,
) -> None:
    _sam, family = people_of(hooked.api)
    sent = family.send_text(WORDS)
    await _relayed_once(hooked, sent)
    update_id = hooked.api.webhook_deliveries[0].update_id
    assert statuses(hooked.api, update_id) == [200]
    assert [r.update_id for r in inbox_rows(hooked.db)] == [update_id]
    assert hooked.api.counters.requests["getUpdates"] == 0  # nothing polled


async def test_joining_and_reporting_work_over_the_webhook(hooked: WebhookHarness) -> None:
    sam_id, sam, _, _ = await setup_provider(hooked)
    amina = await hooked.join_family("KH-0901", caseworker_id=sam_id)
    ref = await report(amina, HOUSING_AR, "المدفأة معطلة")
    card = await sam.wait_for(ref)
    sam.send_text("An engineer comes tomorrow.", reply_to=card.message_id)
    await amina.wait_for("An engineer comes tomorrow.")
    await hooked.api.quiet()
    # Three /start, the consent, /report, the category, the words, send, yes, the reply:
    # each delivered once, answered 200, stored once and handled.
    assert hooked.api.counters.webhook_attempts == 10
    assert hooked.api.counters.webhook_answers == {200: 10}
    await until(
        lambda: [r.state for r in inbox_rows(hooked.db)] == [InboundState.DONE] * 10,
        "ten updates stored and handled",
    )


async def test_the_webhook_is_set_on_start_and_removed_on_stop(hooked: WebhookHarness) -> None:
    api = hooked.api
    assert api.webhook["url"] == hooked.url
    assert api.webhook["secret_token"] == SECRET
    assert api.webhook["allowed_updates"] == list(ALLOWED_UPDATES)
    assert api.webhook["max_connections"] == 40
    await hooked.stop()
    assert api.webhook == {}
    assert [c.get("drop_pending_updates") for c in api.calls("deleteWebhook")] == ["false"]
    # Stopped, an update waits at the local Telegram; the next start gets it, once.
    _sam, family = people_of(api)
    sent = family.send_text(WORDS)
    await asyncio.sleep(0.2)
    assert len(api.pending_updates) == 1
    await hooked.start()
    assert api.webhook["url"] == hooked.url
    await _relayed_once(hooked, sent)


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    hooked: WebhookHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cap_library_loggers()  # as the runner does: libraries' own DEBUG lines carry parameters
    sam, family = people_of(hooked.api)
    update = {
        "update_id": 900_001,
        "message": {
            "message_id": 77, "date": int(time.time()), "text": WORDS,
            "chat": {"id": FAMILY, "type": "private", "first_name": "Huda"},
            "from": {"id": FAMILY, "is_bot": False, "first_name": "Huda"},
        },
    }  # fmt: skip
    wrong = SECRET[:-1] + ("A" if SECRET[-1] != "A" else "B")
    async with httpx.AsyncClient(timeout=10) as http:
        missing = await http.post(hooked.url, json=update)
        refused = await http.post(hooked.url, json=update, headers={SECRET_HEADER: wrong})
        empty = await http.post(hooked.url, json=update, headers={SECRET_HEADER: ""})
        rubbish = await http.post(
            hooked.url, content=b"{not json", headers={SECRET_HEADER: SECRET}
        )
    assert (missing.status_code, refused.status_code, empty.status_code) == (403, 403, 403)
    assert rubbish.status_code == 400
    await hooked.api.quiet()
    assert inbox_rows(hooked.db) == []
    assert family.messages == []  # no answer to the family: nothing was handled
    assert not any(WORDS in m.text for m in sam.messages)
    assert wrong not in caplog.text and SECRET not in caplog.text
    assert "refused a call without the right secret" in caplog.text
    # The same call with the secret is stored and handled: the refusals were the secret's.
    async with httpx.AsyncClient(timeout=10) as http:
        accepted = await http.post(hooked.url, json=update, headers={SECRET_HEADER: SECRET})
    assert accepted.status_code == 200
    await sam.wait_for(WORDS, timeout=20)
    assert [r.update_id for r in inbox_rows(hooked.db)] == [900_001]
    assert SECRET not in caplog.text


def _failing_once(real: Any, db: Database, how: str) -> Any:
    """inbox.store failing on its first call: the database is busy (nothing stored), or it
    fails after the update was committed (stored, but the caller cannot know)."""
    calls = {"n": 0}

    def store(session: Session, batch: list[inbox.Incoming], **kwargs: Any) -> set[int]:
        calls["n"] += 1
        if calls["n"] > 1:
            return set(real(session, batch, **kwargs))
        if how == "busy":
            raise DatabaseBusy()
        with db.session() as committed:  # its own transaction: committed whatever follows
            real(committed, batch, **kwargs)
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    return store


@pytest.mark.parametrize("how", ["busy", "error after the commit"])
async def test_a_failed_store_is_not_acknowledged_and_is_handled_once_after_redelivery(
    hooked: WebhookHarness, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setattr(inbox, "store", _failing_once(inbox.store, hooked.db, how))
    _sam, family = people_of(hooked.api)
    sent = family.send_text(WORDS)
    await _relayed_once(hooked, sent)
    update_id = hooked.api.webhook_deliveries[0].update_id
    assert statuses(hooked.api, update_id) == [500, 200]


async def test_a_store_slower_than_its_call_is_handled_once(
    hooked: WebhookHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = inbox.store, {"n": 0}

    def slow_store(session: Session, batch: list[inbox.Incoming], **kwargs: Any) -> set[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(1.0)  # in the database thread: the call is answered 500 meanwhile
        return set(real(session, batch, **kwargs))

    assert hooked.server is not None
    hooked.server.store_timeout = 0.2
    monkeypatch.setattr(inbox, "store", slow_store)
    _sam, family = people_of(hooked.api)
    sent = family.send_text(WORDS)
    await _relayed_once(hooked, sent)
    update_id = hooked.api.webhook_deliveries[0].update_id
    assert statuses(hooked.api, update_id)[0] == 500
    assert statuses(hooked.api, update_id)[-1] == 200 and calls["n"] >= 2


async def test_a_redelivered_update_is_not_handled_twice(hooked: WebhookHarness) -> None:
    hooked.api.lose_webhook_answers(2)  # the bot's 200 never reaches Telegram, twice
    _sam, family = people_of(hooked.api)
    sent = family.send_text(WORDS)
    await _relayed_once(hooked, sent)
    update_id = hooked.api.webhook_deliveries[0].update_id
    assert statuses(hooked.api, update_id) == [200, 200, 200]
    assert [d.lost for d in hooked.api.webhook_deliveries] == [True, True, False]


async def test_a_slow_handler_does_not_hold_the_answer(hooked: WebhookHarness) -> None:
    release = asyncio.Event()
    finished: list[float] = []

    async def slow(update: Update, context: object) -> None:
        """Holds the family's update until the test lets it go."""
        if update.effective_chat is not None and update.effective_chat.id == FAMILY:
            await release.wait()
            finished.append(time.monotonic())

    assert hooked.app is not None
    hooked.app.add_handler(TypeHandler(Update, slow), group=-1000)
    _sam, family = people_of(hooked.api)
    sent = family.send_text(WORDS)
    # The 200 comes while the handler is still held: answering never waited for handling.
    await until(lambda: 200 in statuses(hooked.api, 1), "the 200 for the family's update")
    assert finished == []
    assert [r.state for r in inbox_rows(hooked.db)] == [InboundState.PENDING]
    release.set()
    await _relayed_once(hooked, sent)
    answered = next(d.answered_at for d in hooked.api.webhook_deliveries if d.status == 200)
    assert len(finished) == 1 and answered < finished[0]
    assert statuses(hooked.api, 1) == [200]


async def test_health_answers_the_health_json(hooked: WebhookHarness) -> None:
    from bot.health import report as health_report

    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"http://127.0.0.1:{hooked.port}{HEALTH_PATH}")
        wrong_method = await http.get(hooked.url)
    found = answer.json()
    with hooked.db.session() as session:
        expected = health_report(session)
    # No lease is taken in-process (run_bot takes it): not healthy, and said so with 503.
    assert answer.status_code == 503 and found["ok"] is False
    assert found.keys() == expected.keys() and found["instance"]["running"] is False
    assert wrong_method.status_code == 405


# -- the real thing: `python -m bot` in webhook mode ----------------------------------------


def _env(api: LocalBotAPI, tmp_path: Path, port: int) -> dict[str, str]:
    """The environment of a `python -m bot` in webhook mode against ``api``."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "TELEGRAM_API_BASE_FILE_URL": api.base_file_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SANAD_MODELS_DIR": str(tmp_path / "models"),
        "PYTHONPATH": str(ROOT),
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "LOG_LEVEL": "DEBUG",
        "SEND_RATE": "1000",
        "OUTBOX_INTERVAL": "1",  # its first heartbeat before the first lease renewal (2 s)
        "SEND_RATE_PER_CHAT": "1000",
    }


async def _cli(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """`python -m bot ARGS` with ``env``."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_python_m_bot_serves_a_webhook_and_health(tmp_path: Path) -> None:
    port = free_port()
    async with LocalBotAPI(token=TOKEN) as api:
        env = _env(api, tmp_path, port)
        db = Database(env["DATABASE_URL"])
        db.upgrade()
        with db.session() as session:
            _seed(session)
        bot = await _cli(env, "run")
        try:
            await until(lambda: bool(api.webhook.get("url")), "the webhook set")
            assert api.webhook["url"] == env["WEBHOOK_URL"]
            assert api.webhook["secret_token"] == SECRET
            assert api.webhook["allowed_updates"] == list(ALLOWED_UPDATES)
            sam, family = people_of(api)
            family.send_text(WORDS)
            await sam.wait_for(WORDS, timeout=30)
            async with httpx.AsyncClient(timeout=10) as http:
                for _ in range(300):  # until the lease and the loops' first beats are written
                    answer = await http.get(f"http://127.0.0.1:{port}{HEALTH_PATH}")
                    if answer.status_code == 200:
                        break
                    await asyncio.sleep(0.1)
            assert answer.status_code == 200, answer.text
            cli = await _cli(env, "health", "--json")
            out, _ = await asyncio.wait_for(cli.communicate(), 60)
            served, printed = answer.json(), json.loads(out)
            assert served.keys() == printed.keys() and served["ok"] is True
            assert served["instance"]["pid"] == printed["instance"]["pid"] == bot.pid
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(bot.communicate(), 60)
        assert bot.returncode == 0, err.decode()[-2000:]
        assert api.webhook == {}  # removed on stop
        assert sum(WORDS in m.text for m in sam.messages) == 1
        log = err.decode()
        assert SECRET not in log and WORDS not in log and TOKEN not in log
        assert "webhook set" in log and "webhook removed" in log
        db.dispose()


async def test_a_taken_port_is_told_in_one_line(hooked: WebhookHarness) -> None:
    assert hooked.app is not None
    second = WebhookServer(
        hooked.app, hooked.db, url=hooked.url, secret=SECRET, listen="127.0.0.1",
        port=hooked.port,
    )  # fmt: skip
    with pytest.raises(CannotListen, match=f"cannot listen on 127.0.0.1:{hooked.port}"):
        await second.start()
    assert hooked.api.webhook["url"] == hooked.url  # the running one is untouched
    with pytest.raises(ValueError, match="at least 16"):
        WebhookServer(hooked.app, hooked.db, url=hooked.url, secret="short")
