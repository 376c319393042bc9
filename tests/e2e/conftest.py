"""End-to-end harness: the real PTB Application polling the local Bot API over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import SanadApp, build_application
from bot.services import invites, registry
from bot.settings import Settings
from localapi import LocalBotAPI, UserHandle
from storage.db import Database

TOKEN = "123456:E2E-TEST-TOKEN"


@dataclass
class Harness:
    """One running bot with its database and the fake Telegram it talks to."""

    api: LocalBotAPI
    db: Database
    settings: Settings
    app: SanadApp | None = None
    next_user_id: int = 5_000_000_000  # beyond 32 bits, as real Telegram ids are

    async def start(self) -> None:
        """Builds and starts the Application (again, after a restart)."""
        self.app = build_application(self.settings, self.db)
        await self.app.initialize()
        assert self.app.post_init is not None
        await self.app.post_init(self.app)  # as run_polling does
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0.0, timeout=1)

    async def stop(self) -> None:
        """Stops polling and shuts the Application down cleanly."""
        if self.app is None:
            return
        assert self.app.updater is not None
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        if self.app.post_shutdown is not None:  # as run_polling does: the dispatcher stops too
            await self.app.post_shutdown(self.app)
        await self.app.shutdown()
        self.app = None

    async def restart(self) -> None:
        """A crash-free restart: a new Application over the same database."""
        await self.stop()
        await self.start()

    def provider(self, name: str = "Kent Refugee Action", districts: str = "Dover,Thanet") -> int:
        """Registers a provider holding a Lot."""
        with self.db.session() as session:
            provider, _ = registry.add_provider(session, name=name, districts=districts.split(","))
            assert provider.id is not None
            return provider.id

    def family(
        self,
        ref: str,
        *,
        district: str = "Dover",
        member: str = "Amina",
        caseworker_id: int | None = None,
        language: str | None = None,
    ) -> str:
        """Registers a household with one member and returns a fresh invite code."""
        with self.db.session() as session:
            registry.add_family(
                session,
                ref=ref,
                district=district,
                scheme="VPRS",
                arrived="2024-05-01",
                caseworker_id=caseworker_id,
                language=language,
            )
            found = registry.add_member(session, family=ref, name=member)
            return invites.create_invite(session, member_id=found.id).code

    def staff(self, role: str, name: str, provider: str | None = None) -> tuple[int, str]:
        """Registers staff and returns (staff id, invite code)."""
        with self.db.session() as session:
            staff = registry.add_staff(session, role=role, name=name, provider=provider)
            return staff.id or 0, invites.create_invite(session, staff_id=staff.id).code

    def user(self, *, language_code: str = "ar", first_name: str = "User") -> UserHandle:
        """A new Telegram user."""
        self.next_user_id += 1
        return self.api.user(self.next_user_id, first_name=first_name, language_code=language_code)

    async def join_family(
        self, ref: str, *, language_code: str = "ar", **kwargs: object
    ) -> UserHandle:
        """A family member joins by invite and accepts the privacy notice."""
        code = self.family(ref, **kwargs)  # type: ignore[arg-type]
        person = self.user(language_code=language_code)
        person.send_text(f"/start {code}")
        await person.wait_for(lambda m: any(d == "consent:ok" for _, d in m.buttons))
        mid, data = next(
            (m.message_id, d) for m in reversed(person.messages) for _, d in m.buttons
            if d == "consent:ok"
        )  # fmt: skip
        person.press(mid, data)
        await person.wait_for(lambda m: any(d == "menu:report" for _, d in m.buttons))
        return person

    async def join_staff(
        self, role: str, name: str, provider: str | None = None, *, language_code: str = "en"
    ) -> tuple[int, UserHandle]:
        """A member of staff joins by invite."""
        staff_id, code = self.staff(role, name, provider)
        person = self.user(language_code=language_code, first_name=name)
        person.send_text(f"/start {code}")
        await person.wait_for(lambda m: any(d == "menu:tickets" for _, d in m.buttons))
        return staff_id, person


@pytest.fixture
async def api() -> AsyncIterator[LocalBotAPI]:
    """The local Bot API server on a free loopback port."""
    async with LocalBotAPI(token=TOKEN, bot_username="sanad_test_bot") as server:
        yield server


@pytest.fixture
async def harness(api: LocalBotAPI, tmp_path: Path) -> AsyncIterator[Harness]:
    """A running bot over a fresh file database with the reference data."""
    settings = Settings(
        bot_token=TOKEN,
        bot_username="sanad_test_bot",
        api_base_url=api.base_url,
        api_base_file_url=api.base_file_url,
        database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
        models_dir=tmp_path / "models",
        # Tests tick the outbox job themselves, so escalation never runs on the wall clock.
        outbox_interval=3600.0,
        # localapi enforces no limits here; pacing has its own tests (test_pacing.py), and at
        # Telegram's 1/s per chat a conversation's replies would outlast api.quiet().
        send_rate=1000.0,
        send_rate_per_chat=1000.0,
    )
    db = Database(settings.database_url)
    db.create_all()
    with db.session() as session:
        registry.seed(session)
    running = Harness(api=api, db=db, settings=settings)
    await running.start()
    yield running
    await running.stop()
    db.dispose()
