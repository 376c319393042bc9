"""The fetch loop stores each batch before acknowledging it and never sticks on a redelivery."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select
from telegram import Update
from telegram.ext import ExtBot

from bot.inbound.durable_bot import DurableBot
from storage.db import Database
from storage.models import InboundUpdate


def _update(update_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id, "date": 0, "text": "x",
                "chat": {"id": 9, "type": "private"},
                "from": {"id": 9, "is_bot": False, "first_name": "A"},
            },
        },
        None,
    )  # fmt: skip


async def test_a_batch_of_redelivered_updates_is_fetched_past(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = Database("sqlite://")
    db.create_all()
    batches = [[_update(1), _update(2)], [_update(1), _update(2)], [_update(3)], []]
    offsets: list[Any] = []

    async def fetch(self: ExtBot[Any], *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        offsets.append(kwargs.get("offset", args[0] if args else None))
        return tuple(batches.pop(0))

    monkeypatch.setattr(ExtBot, "get_updates", fetch)
    bot = DurableBot("1:T", inbox_db=db)
    first = await bot.get_updates(offset=None, timeout=0)
    assert [u.update_id for u in first] == [1, 2]
    with db.session() as session:  # stored before they were handed over
        assert [r.update_id for r in session.exec(select(InboundUpdate))] == [1, 2]
    # The acknowledgement was lost: Telegram sends 1 and 2 again. They are skipped, and the
    # loop asks past them at once instead of returning nothing (which would repeat forever).
    second = await bot.get_updates(offset=1, timeout=0)
    assert [u.update_id for u in second] == [3]
    assert offsets == [None, 1, 3]
    assert bot.fetched_at is not None
    db.dispose()
