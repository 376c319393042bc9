"""getUpdates semantics over raw HTTP: offsets, limits, long polling, conflicts, bodies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from localapi import LocalBotAPI


@pytest.fixture
async def client(api: LocalBotAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client rooted at the bot's method URL."""
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/", timeout=10) as http:
        yield http


async def call(client: httpx.AsyncClient, method: str, **params: Any) -> Any:
    """POST a JSON call and return ``result``, asserting success."""
    response = await client.post(method, json=params)
    body = response.json()
    assert body["ok"], body
    return body["result"]


def ids(updates: list[dict[str, Any]]) -> list[int]:
    """The update ids of a getUpdates result."""
    return [u["update_id"] for u in updates]


async def test_offset_confirms_and_negative_offset_keeps_tail(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    user = api.user(1001)
    for n in range(5):
        user.send_text(f"m{n}")
    assert ids(await call(client, "getUpdates")) == [1, 2, 3, 4, 5]
    assert ids(await call(client, "getUpdates")) == [1, 2, 3, 4, 5]  # not confirmed yet
    assert ids(await call(client, "getUpdates", offset=3, limit=1)) == [3]
    assert ids(await call(client, "getUpdates", offset=-1)) == [5]
    assert ids(await call(client, "getUpdates")) == [5]
    assert ids(await call(client, "getUpdates", offset=6)) == []
    assert api.pending_updates == []


async def test_limit_is_capped_at_100(api: LocalBotAPI, client: httpx.AsyncClient) -> None:
    user = api.user(1001)
    for n in range(120):
        user.send_text(f"m{n}")
    assert len(await call(client, "getUpdates", limit=500)) == 100
    assert len(await call(client, "getUpdates", limit=0)) == 1


async def test_long_poll_waits_and_wakes_on_new_update(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    user = api.user(1001)
    started = time.monotonic()
    assert await call(client, "getUpdates", timeout=0.3) == []
    assert time.monotonic() - started >= 0.25

    poll = asyncio.create_task(call(client, "getUpdates", timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    user.send_text("wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert updates[0]["message"]["text"] == "wake up"


async def test_second_concurrent_poller_gets_conflict(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    first = asyncio.create_task(call(client, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    response = await client.post("getUpdates", json={"timeout": 1})
    assert response.status_code == 409
    assert response.json()["description"].startswith(
        "Conflict: terminated by other getUpdates request"
    )
    api.user(1001).send_text("for the first poller")
    assert len(await first) == 1


async def test_abandoned_long_poll_does_not_block_the_next(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        poll = asyncio.create_task(other.post("getUpdates", json={"timeout": 10}))
        await asyncio.sleep(0.1)
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
    assert await call(client, "getUpdates", timeout=0) == []


async def test_allowed_updates_are_remembered(api: LocalBotAPI, client: httpx.AsyncClient) -> None:
    user = api.user(1001)
    assert await call(client, "getUpdates", allowed_updates=["callback_query"]) == []
    user.send_text("dropped")
    sent = await call(client, "sendMessage", chat_id=user.id, text="pick")
    user.press(sent["message_id"], "x")
    updates = await call(client, "getUpdates")
    assert [next(k for k in u if k != "update_id") for u in updates] == ["callback_query"]


async def test_webhook_blocks_polling(api: LocalBotAPI, client: httpx.AsyncClient) -> None:
    assert await call(client, "setWebhook", url="https://example.org/hook")
    info = await call(client, "getWebhookInfo")
    assert info["url"] == "https://example.org/hook"
    response = await client.post("getUpdates", json={})
    assert response.status_code == 409
    assert await call(client, "deleteWebhook", drop_pending_updates=True)
    assert await call(client, "getUpdates") == []


async def test_form_and_query_bodies_are_accepted(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    user = api.user(1001)
    form = await client.post(
        "sendMessage",
        data={"chat_id": str(user.id), "text": "<i>form</i>", "parse_mode": "HTML"},
    )
    assert form.json()["result"]["entities"] == [{"offset": 0, "length": 4, "type": "italic"}]
    query = await client.get("sendMessage", params={"chat_id": user.id, "text": "query"})
    assert query.json()["result"]["text"] == "query"
    assert [m.text for m in user.messages] == ["form", "query"]


async def test_quiet_returns_once_bot_stops_calling(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    started = time.monotonic()
    api.world.touch()  # the bot's last call: quiet waits 0.2 s of silence from here
    await api.quiet(0.2)
    assert time.monotonic() - started >= 0.2


async def test_stop_releases_a_pending_long_poll(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(client.post("getUpdates", json={"timeout": 30}))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await api.stop()
    response = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 3
    assert response.json() == {"ok": True, "result": []}
