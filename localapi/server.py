"""The aiohttp server and the ``LocalBotAPI`` facade tests, the demo and benchmarks use.

Routes: ``POST|GET /bot<token>/<method>`` (JSON, form-urlencoded or multipart bodies) and
``GET /file/bot<token>/<file_path>``. The access log is off so tokens never reach logs.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self

from aiohttp import BodyPartReader, web

from localapi.faults import Fault, FaultRule, chat_of
from localapi.limits import Counters, Limiter, TelegramLimits, too_many
from localapi.methods import METHODS, Params, Upload, resolve_commands, scope_key
from localapi.state import ApiError, ChatState, World
from localapi.users import GroupHandle, UserHandle
from localapi.webhook import Delivery, WebhookSender

__all__ = ["LocalBotAPI"]

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
MAX_BODY = 60 * 1024 * 1024
# Telegram answers 401 to a well-formed but wrong token, and 404 to one not shaped like a token.
TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
MAX_POLL_TIMEOUT = 50.0
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


class LocalBotAPI:
    """A Telegram Bot API lookalike on loopback plus handles that act as Telegram users."""

    def __init__(
        self,
        token: str = "123456:LOCAL-TEST-TOKEN",
        bot_username: str = "sanad_local_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_name: str = "Sanad (local)",
        rate_limits: bool | TelegramLimits = False,
        get_my_commands_fallback: bool = False,
    ) -> None:
        """Prepare the server; nothing listens until ``start()``.

        ``rate_limits=True`` enforces Telegram's send limits (``TelegramLimits()``); pass a
        ``TelegramLimits`` to scale them. ``get_my_commands_fallback=True`` makes getMyCommands
        answer like ``commands()`` (menu resolution) instead of Telegram's exact lookup.
        """
        self.token = token
        self.host = host
        self.port = port
        self.world = World(token, bot_username, bot_name)
        self.set_rate_limits(rate_limits)
        self.world.commands_fallback = get_my_commands_fallback
        self._users: dict[int, UserHandle] = {}
        self._groups: dict[int, GroupHandle] = {}
        self._runner: web.AppRunner | None = None
        self._poller: web.Request | None = None
        self._last_poll_at = float("-inf")
        self._closing = False
        # Delivers updates to the bot's webhook while one is set (localapi/webhook.py).
        self.webhook_sender = WebhookSender(self.world)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the server (a free port when port=0) and start serving."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._closing = False
        await self.webhook_sender.start()
        logger.info("local Bot API listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Wake long pollers and shut the server down."""
        if self._runner is None:
            return
        self._closing = True
        await self.webhook_sender.stop()
        self.world.touch()
        await asyncio.sleep(0)
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url`` (PTB appends the token and ``/method``)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's ``base_file_url``."""
        return f"http://{self.host}:{self.port}/file/bot"

    # -- test-facing API ------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
        is_premium: bool | None = None,
    ) -> UserHandle:
        """Create (or return) a user whose private chat with the bot has id ``user_id``."""
        if user_id in self._users:
            return self._users[user_id]
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        optional = {
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "is_premium": is_premium,
        }
        user.update({k: v for k, v in optional.items() if v is not None})
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        chat.update({k: v for k, v in (("last_name", last_name), ("username", username)) if v})
        state = ChatState(chat=chat, started=started, user=user)
        self.world.chats[user_id] = state
        self._users[user_id] = UserHandle(self.world, state, user)
        return self._users[user_id]

    def group(
        self,
        chat_id: int,
        title: str = "Group",
        *,
        chat_type: str = "group",
        username: str | None = None,
    ) -> GroupHandle:
        """Create (or return) a group ("group" or "supergroup") the bot is a member of."""
        if chat_id in self._groups:
            return self._groups[chat_id]
        chat: JSON = {"id": chat_id, "type": chat_type, "title": title}
        if username:
            chat["username"] = username
        state = ChatState(chat=chat)
        self.world.chats[chat_id] = state
        self._groups[chat_id] = GroupHandle(self.world, state)
        return self._groups[chat_id]

    def commands(
        self, scope: JSON | None = None, language_code: str = "", *, exact: bool = False
    ) -> list[JSON]:
        """Commands a user in ``scope`` with ``language_code`` sees, with Telegram's fallbacks.

        ``exact=True`` returns only what was set for that scope and language (getMyCommands).
        """
        if exact:
            key = (scope_key(self.world, scope), language_code)
            return copy.deepcopy(self.world.commands.get(key, []))
        return resolve_commands(self.world, scope, language_code)

    def flood(self, chat_id: int | None = None, retry_after: int = 1, times: int = 1) -> None:
        """Make the next ``times`` sends (to ``chat_id``, or any chat) answer 429."""
        self.inject(Fault.TOO_MANY_REQUESTS, chat_id=chat_id, times=times, retry_after=retry_after)

    def inject(
        self,
        kind: Fault | str,
        *,
        chat_id: int | None = None,
        methods: Iterable[str] | str | None = None,
        times: int | None = None,
        seconds: float | None = None,
        retry_after: int = 5,
        status: int = 502,
        hang: float = 60.0,
        after_store: bool = False,
    ) -> FaultRule:
        """Answer matching requests with a fault; returns the rule (``hits``, ``cancel()``).

        Matches sends (``methods`` names others, ``"*"`` every method) to ``chat_id`` or any
        chat, for the next ``times`` requests or for ``seconds`` from now (once when neither
        is given). ``after_store=True`` (timeouts, disconnects, 5xx) stores the message first:
        Telegram accepted it but the answer was lost. A timeout holds the request ``hang`` s.
        """
        rule = FaultRule.build(
            kind, chat_id=chat_id, methods=methods, times=times, seconds=seconds,
            retry_after=retry_after, status=status, hang=hang, after_store=after_store,
        )  # fmt: skip
        self.world.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        self.world.faults.clear()

    @property
    def counters(self) -> Counters:
        """Requests by method, error answers by status, messages per chat, send times."""
        return self.world.counters

    def on_message(self, listener: Callable[[int, JSON], None]) -> None:
        """Call ``listener(chat_id, message)`` as each new bot message is stored."""
        self.world.listeners.append(listener)

    @property
    def requests_log(self) -> list[tuple[str, JSON]]:
        """(method, params) of every bot request, oldest first; uploads summarised."""
        return list(self.world.requests_log)

    def calls(self, method: str) -> list[JSON]:
        """Params of every call to ``method`` (case-insensitive)."""
        return [p for m, p in self.world.requests_log if m.lower() == method.lower()]

    @property
    def chat_actions(self) -> list[tuple[int, str]]:
        """(chat_id, action) of every sendChatAction."""
        return list(self.world.chat_actions)

    @property
    def webhook(self) -> JSON:
        """The webhook recorded by setWebhook ({} if none)."""
        return dict(self.world.webhook)

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """Every webhook request made: (update_id, status answered, when), oldest first."""
        return list(self.webhook_sender.deliveries)

    def lose_webhook_answers(self, times: int = 1) -> None:
        """Treat the next ``times`` 2xx webhook answers as lost: those updates are sent again."""
        self.webhook_sender.lose_answers += times

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        return copy.deepcopy(self.world.updates)

    def set_rate_limits(
        self, limits: bool | TelegramLimits, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Turn Telegram-like send limits on (True: Telegram's own, or given ones) or off.

        ``clock`` replaces ``time.monotonic`` for the limits, so tests can step time exactly.
        """
        if limits is True:
            limits = TelegramLimits()
        if isinstance(limits, TelegramLimits):
            self.world.limiter = Limiter(limits, clock)
        else:
            self.world.limiter = None

    async def quiet(self, timeout: float = 0.5, *, max_wait: float = 30.0) -> None:
        """Wait until the bot has fetched (or, with a webhook, confirmed) every update and made
        no request for ``timeout`` s."""
        deadline = time.monotonic() + max_wait
        while True:
            now = time.monotonic()
            polling = self._poller is not None or now - self._last_poll_at < 1.0
            undelivered = (
                polling
                and any(u["update_id"] > self.world.delivered_up_to for u in self.world.updates)
            ) or self.webhook_sender.busy
            idle = now - self.world.last_activity
            if not undelivered and idle >= timeout:
                return
            if now >= deadline:
                raise AssertionError(f"bot still busy after {max_wait}s")
            await self.world.wait_change(min(timeout - idle if idle < timeout else timeout, 0.5))

    # -- HTTP -----------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            if not TOKEN_SHAPE.match(request.match_info["token"]):
                return _error(ApiError(404, "Not Found"))
            return _error(ApiError(401, "Unauthorized"))
        name = request.match_info["method"]
        try:
            params = await _read_params(request)
        except ApiError as exc:
            return _error(exc)
        self.world.requests_log.append((name, _loggable(params)))
        self.world.counters.requests[name] += 1
        logger.debug("bot called %s", name)
        if name.lower() != "getupdates":
            self.world.touch()
        fault = self._fault_for(name, params)
        try:
            if fault is not None and not fault.after_store:
                await self._apply_fault(request, fault)
            if name.lower() == "getupdates":
                result = await self._get_updates(request, params)
            else:
                handler = METHODS.get(name.lower())
                if handler is None:
                    raise ApiError(404, "Not Found")
                result = handler(self.world, params)
                if inspect.isawaitable(result):
                    result = await result
            if fault is not None:
                await self._apply_fault(request, fault)
        except ApiError as exc:
            logger.debug("%s answered %d", name, exc.code)
            self.world.counters.answered[exc.code] += 1
            return _error(exc)
        finally:
            if name.lower() != "getupdates":
                self.world.last_activity = time.monotonic()
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    def _fault_for(self, name: str, params: Params) -> FaultRule | None:
        """The first injected fault matching this request (it fires when applied)."""
        chat_id = chat_of(params.values.get("chat_id"))
        return next((rule for rule in self.world.faults if rule.matches(name, chat_id)), None)

    async def _apply_fault(self, request: web.Request, fault: FaultRule) -> None:
        """Answer (raise), hang, or hang up, as the fault says.

        An after-store fault is applied only once the request succeeded, so a request refused
        for another reason (a 400, a limit's 429) does not use it up.
        """
        if not fault.active:  # used up by a concurrent request meanwhile: answer normally
            return
        fault.fire()
        self.world.counters.faults[fault.kind] += 1
        self.world.faults = [r for r in self.world.faults if r.active]
        if fault.kind is Fault.TOO_MANY_REQUESTS:
            raise ApiError(*too_many(fault.retry_after))
        if fault.kind is Fault.BLOCKED:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if fault.kind is Fault.SERVER_ERROR:
            raise ApiError(fault.status, _REASONS.get(fault.status, "Internal Server Error"))
        if fault.kind is Fault.DISCONNECT and request.transport is not None:
            request.transport.abort()
        # A timeout hangs until the client gives up (aiohttp then cancels this handler) or
        # ``hang`` passes; a dropped connection is cancelled here the same way.
        await asyncio.sleep(fault.hang)
        raise ApiError(504, "Gateway Timeout")

    async def _get_updates(self, request: web.Request, params: Params) -> list[JSON]:
        if self.world.webhook.get("url"):
            raise ApiError(409, WEBHOOK_CONFLICT)
        await asyncio.sleep(0)  # let a client that hung up on its long poll be noticed first
        current = self._poller
        if current is not None and current is not request and _alive(current):
            raise ApiError(409, CONFLICT)
        self._last_poll_at = time.monotonic()
        limit = max(1, min(params.get_int("limit", 100) or 0, 100))
        timeout = max(0.0, min(params.get_float("timeout", 0.0) or 0.0, MAX_POLL_TIMEOUT))
        allowed = params.get_json("allowed_updates")
        if allowed is not None:
            self.world.allowed_updates = [str(a) for a in allowed]
        offset = params.get_int("offset")
        if offset is not None:
            self.world.confirm(offset)
        deadline = time.monotonic() + timeout
        self._poller = request
        try:
            while True:
                batch = self.world.pending(limit)
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._closing:
                    return copy.deepcopy(batch)
                await self.world.wait_change(remaining)
        finally:
            self._last_poll_at = time.monotonic()
            if self._poller is request:
                self._poller = None

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        record = self.world.file_by_path(request.match_info["path"])
        if record is None:
            return _error(ApiError(404, "Not Found"))
        body = record.data if record.data is not None else bytes(record.size)
        return web.Response(body=body, content_type=record.mime_type or "application/octet-stream")


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}  # fmt: skip


def _alive(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _error(exc: ApiError) -> web.Response:
    return web.json_response(exc.payload(), status=exc.code, dumps=_dumps)


async def _read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "GET" or not request.can_read_body:
        return Params(values, uploads)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: can't parse JSON object")
        values.update(body)
    elif content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = bytes(await part.read(decode=False))
                mime = part.headers.get("Content-Type")
                uploads[part.name] = Upload(data, part.filename, mime)
            else:
                values[part.name] = await part.text()
    else:
        values.update(await request.post())
    return Params(values, uploads)


def _loggable(params: Params) -> JSON:
    logged = dict(params.values)
    for name, upload in params.uploads.items():
        logged[name] = {"upload": upload.filename, "size": len(upload.data)}
    return logged
