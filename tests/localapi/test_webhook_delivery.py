"""Webhook delivery: one update a request with the secret, retried until 2xx, each chat in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from localapi import LocalBotAPI
from localapi.webhook import NO_ANSWER, SECRET_HEADER
from tests.localapi.test_updates import call

SECRET = "local-webhook-secret-0123"
JSON = dict[str, Any]


@dataclass
class Receiver:
    """A stand-in bot: records each call and answers what ``answer`` says (200 by default)."""

    calls: list[tuple[JSON, str | None]] = field(default_factory=list)
    answer: Callable[[JSON], int] = lambda update: 200
    hold: asyncio.Event | None = None  # when set, the first call waits for it
    port: int = 0

    @property
    def url(self) -> str:
        """The webhook URL to give setWebhook."""
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def update_ids(self) -> list[int]:
        """The update id of every call, in the order they arrived."""
        return [update["update_id"] for update, _ in self.calls]

    async def handle(self, request: web.Request) -> web.Response:
        """Records the call and answers."""
        update = await request.json()
        self.calls.append((update, request.headers.get(SECRET_HEADER)))
        if self.hold is not None:
            hold, self.hold = self.hold, None
            await hold.wait()
        return web.Response(status=self.answer(update))


@pytest.fixture
async def client(api: LocalBotAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client rooted at the bot's method URL."""
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/", timeout=10) as http:
        yield http


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on a free loopback port."""
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    found.port = int(runner.addresses[0][1])
    yield found
    await runner.cleanup()


async def _until(check: Callable[[], bool], what: str) -> None:
    """Waits (at most ten seconds) until ``check()`` holds."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def _text(update: JSON) -> str:
    """The text of a message update."""
    return str(update["message"]["text"])


async def test_each_update_is_posted_alone_with_the_secret_and_confirmed_by_200(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    amina = api.user(1001, "Amina")
    assert await call(client, "setWebhook", url=receiver.url, secret_token=SECRET)
    amina.send_text("first")
    amina.send_text("second")
    await api.quiet(0.1)
    assert [_text(u) for u, _ in receiver.calls] == ["first", "second"]
    assert all(secret == SECRET for _, secret in receiver.calls)
    assert api.pending_updates == []
    assert api.counters.webhook_attempts == 2
    assert api.counters.webhook_answers == {200: 2}
    assert [(d.update_id, d.status) for d in api.webhook_deliveries] == [(1, 200), (2, 200)]
    info = await call(client, "getWebhookInfo")
    assert info["pending_update_count"] == 0 and "last_error_message" not in info


async def test_no_secret_header_without_a_secret(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    assert await call(client, "setWebhook", url=receiver.url)
    api.user(1001).send_text("hello")
    await api.quiet(0.1)
    assert [secret for _, secret in receiver.calls] == [None]


async def test_an_error_answer_is_retried_until_a_2xx(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    answers = iter([500, 403, 200])
    receiver.answer = lambda update: next(answers)
    assert await call(client, "setWebhook", url=receiver.url, secret_token=SECRET)
    api.user(1001).send_text("again and again")
    await api.quiet(0.1)
    assert receiver.update_ids == [1, 1, 1]
    assert [d.status for d in api.webhook_deliveries] == [500, 403, 200]
    assert api.counters.webhook_answers == {500: 1, 403: 1, 200: 1}
    assert api.pending_updates == []
    info = await call(client, "getWebhookInfo")
    assert info["last_error_message"] == "Wrong response from the webhook: 403"


async def test_no_answer_in_time_counts_as_a_failure_and_is_retried(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    api.webhook_sender.timeout = 0.2
    receiver.hold = asyncio.Event()  # the first call never answers in time
    assert await call(client, "setWebhook", url=receiver.url, secret_token=SECRET)
    api.user(1001).send_text("slow")
    await _until(lambda: len(api.webhook_deliveries) == 2, "a retry after the timeout")
    assert [d.status for d in api.webhook_deliveries] == [NO_ANSWER, 200]
    assert api.counters.webhook_answers[NO_ANSWER] == 1
    assert receiver.update_ids == [1, 1]


async def test_a_lost_answer_makes_the_update_come_again(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    api.lose_webhook_answers(1)
    assert await call(client, "setWebhook", url=receiver.url, secret_token=SECRET)
    api.user(1001).send_text("twice")
    await api.quiet(0.1)
    assert receiver.update_ids == [1, 1]
    assert [(d.status, d.lost) for d in api.webhook_deliveries] == [(200, True), (200, False)]


async def test_each_chat_in_order_while_others_go_on(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    amina, omar = api.user(1001, "Amina"), api.user(1002, "Omar")
    failures = {"a1": 3}

    def answer(update: JSON) -> int:
        text = _text(update)
        if failures.get(text, 0) > 0:
            failures[text] -= 1
            return 502
        return 200

    receiver.answer = answer
    assert await call(client, "setWebhook", url=receiver.url, secret_token=SECRET)
    amina.send_text("a1")
    amina.send_text("a2")
    omar.send_text("o1")
    omar.send_text("o2")
    await api.quiet(0.1)
    texts = [_text(u) for u, _ in receiver.calls]
    assert texts.count("a1") == 4 and texts.count("a2") == 1
    # a2 waits until a1 is confirmed; Omar's chat is not held up by Amina's.
    assert texts.index("a2") > max(i for i, t in enumerate(texts) if t == "a1")
    assert texts.index("o2") < max(i for i, t in enumerate(texts) if t == "a1")
    assert texts.index("o1") < texts.index("o2")


async def test_only_allowed_update_types_are_posted(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    amina = api.user(1001)
    assert await call(
        client, "setWebhook", url=receiver.url, secret_token=SECRET,
        allowed_updates=["callback_query"],
    )  # fmt: skip
    amina.send_text("not allowed")
    sent = await call(client, "sendMessage", chat_id=amina.id, text="pick")
    amina.press(sent["message_id"], "x")
    await api.quiet(0.1)
    assert [next(k for k in u if k != "update_id") for u, _ in receiver.calls] == [
        "callback_query"
    ]


async def test_polling_is_refused_while_set_and_gets_what_is_pending_after(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answer = lambda update: 500
    assert await call(client, "setWebhook", url=receiver.url, secret_token=SECRET)
    api.user(1001).send_text("kept")
    await _until(lambda: len(receiver.calls) >= 1, "a first delivery")
    refused = await client.post("getUpdates", json={})
    assert refused.status_code == 409
    assert "webhook is active" in refused.json()["description"]
    assert await call(client, "deleteWebhook")  # pending updates are kept
    before = len(receiver.calls)
    updates = await call(client, "getUpdates")
    assert [_text(u) for u in updates] == ["kept"]
    await asyncio.sleep(0.2)  # a retry would have been due by now
    assert len(receiver.calls) == before  # no webhook: no more calls


async def test_a_dead_webhook_keeps_updates_pending(
    api: LocalBotAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url = receiver.url.replace(str(receiver.port), "1")  # nothing listens on port 1
    assert await call(client, "setWebhook", url=url, secret_token=SECRET)
    api.user(1001).send_text("waiting")
    await _until(lambda: len(api.webhook_deliveries) >= 2, "two failed attempts")
    assert {d.status for d in api.webhook_deliveries} == {NO_ANSWER}
    assert [_text(u) for u in api.pending_updates] == ["waiting"]
    assert json.loads(json.dumps(api.webhook))["url"] == url


async def test_only_loopback_addresses_are_called(
    api: LocalBotAPI, client: httpx.AsyncClient
) -> None:
    assert await call(client, "setWebhook", url="https://example.org/hook", secret_token=SECRET)
    api.user(1001).send_text("never leaves the machine")
    await asyncio.sleep(0.2)
    assert api.webhook_deliveries == [] and api.counters.webhook_attempts == 0
    assert len(api.pending_updates) == 1
