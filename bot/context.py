"""The typed context every handler receives: the database, settings and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services.people import Person
from bot.services.translation import Translator
from bot.settings import Settings
from storage.db import Database


@dataclass
class BotData:
    """What the whole application shares; PTB creates it empty, the composition root fills it."""

    db: Database = field(default=None)  # type: ignore[assignment]
    settings: Settings = field(default_factory=Settings)
    translator: Translator = field(default=None)  # type: ignore[assignment]
    extras: dict[str, Any] = field(default_factory=dict)


class SanadContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with typed access to the shared services and the resolved caller."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.person: Person | None = None  # set by the gate (handlers/gate.py), private chats

    @property
    def db(self) -> Database:
        """The application's database."""
        return self.bot_data.db

    @property
    def settings(self) -> Settings:
        """The application's settings."""
        return self.bot_data.settings
