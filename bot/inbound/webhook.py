"""Webhook mode: an aiohttp server that stores each update in the inbox before answering 200.

Telegram's call is answered only once the update is committed (or found already stored); a
failed store answers 500 so Telegram sends it again. Handling runs after the answer, from PTB's
update queue. ``GET /health`` answers what ``python -m bot health --json`` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlmodel import Session
from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.delivery import heartbeat
from bot.health import render, report
from bot.inbound.durable_bot import incoming
from bot.services import inbox
from storage.db import Database
from storage.models import InboundState, InboundUpdate

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/health"
MIN_SECRET = 16  # characters; the runner refuses a shorter WEBHOOK_SECRET
# Telegram's own default: how many calls it may have open to us at once.
MAX_CONNECTIONS = 40
# A store slower than this is answered 500 (Telegram sends the update again); if it commits
# after all, the update is handled then, and the redelivery is answered 200 and dropped.
STORE_TIMEOUT = 10.0
# While the server listens, health hears from the update loop this often (no update may come
# for hours; the listener is what is alive).
BEAT_EVERY = 10.0
# In-flight calls get this long to finish when stopping.
SHUTDOWN_TIMEOUT = 5.0
# Update ids this process queued, remembered to tell a redelivery from a lost hand-over.
REMEMBER = 100_000
JSON_TYPE = "application/json"


class CannotListen(Exception):
    """The server could not bind WEBHOOK_LISTEN:WEBHOOK_PORT (taken, or not this machine's)."""


class _RecentIds:
    """A bounded set of update ids, oldest forgotten first."""

    def __init__(self, limit: int = REMEMBER) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._limit = limit

    def add(self, update_id: int) -> None:
        """Remembers an id."""
        self._ids[update_id] = None
        self._ids.move_to_end(update_id)
        while len(self._ids) > self._limit:
            self._ids.popitem(last=False)

    def discard(self, update_id: int) -> None:
        """Forgets an id."""
        self._ids.pop(update_id, None)

    def __contains__(self, update_id: object) -> bool:
        return update_id in self._ids


def path_of(url: str) -> str:
    """The path Telegram calls: the one in WEBHOOK_URL (``/`` when it has none)."""
    return urlsplit(url).path or "/"


class WebhookServer:
    """Receives Telegram's calls for one Application; ``start()`` binds and sets the webhook."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        db: Database,
        *,
        url: str,
        secret: str,
        listen: str = "127.0.0.1",
        port: int = 8443,
        allowed_updates: Sequence[str] | None = None,
        max_connections: int = MAX_CONNECTIONS,
        health_path: str = HEALTH_PATH,
        store_timeout: float = STORE_TIMEOUT,
    ) -> None:
        if len(secret) < MIN_SECRET:
            raise ValueError(f"the webhook secret must have at least {MIN_SECRET} characters")
        self.app = app
        self.db = db
        self.url = url
        self.path = path_of(url)
        if self.path == health_path:
            raise ValueError(f"the webhook path cannot be the health path {health_path}")
        self.listen = listen
        self.port = port
        self.allowed_updates = list(allowed_updates) if allowed_updates is not None else None
        self.max_connections = max_connections
        self.health_path = health_path
        self.store_timeout = store_timeout
        self._secret = secret.encode()
        self._runner: web.AppRunner | None = None
        self._beat: asyncio.Task[None] | None = None
        self._queued = _RecentIds()
        # Ids whose store raised: it may have committed; a redelivery is handed over then.
        self._uncertain = _RecentIds()
        self._late: set[asyncio.Task[set[int]]] = set()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, *, retries: int = 0) -> None:
        """Listens, then asks Telegram to call us (after post_init re-queued the inbox).

        Setting the webhook is tried again ``retries`` times after a network blip or a 429.
        """
        # What post_init handed over from the inbox is in the queue already: a redelivery of
        # one of those must not be handed over a second time.
        for row in await self.db.run(inbox.take_pending):
            self._queued.add(row.update_id)
        web_app = web.Application()
        web_app.router.add_post(self.path, self._receive)
        web_app.router.add_get(self.health_path, self._health)
        # No access log: a request line may carry a path an operator chose to keep private.
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            where = f"{self.listen}:{self.port}"
            raise CannotListen(f"cannot listen on {where} ({exc.strerror or exc})") from None
        self.port = int(self._runner.addresses[0][1])
        heartbeat.beat(self.app, "updates_at")
        self._beat = asyncio.ensure_future(self._beat_loop())
        await _retrying(self._set_webhook, retries, "set the webhook")
        logger.info("webhook set; listening on %s:%d", self.listen, self.port)

    async def _set_webhook(self) -> None:
        """Tells Telegram where to call, with the secret and the update types handled."""
        await self.app.bot.set_webhook(
            url=self.url,
            secret_token=self._secret.decode(),
            allowed_updates=self.allowed_updates,
            max_connections=self.max_connections,
            drop_pending_updates=False,
        )

    async def stop(self) -> None:
        """Removes the webhook (Telegram keeps what is pending), then lets calls finish."""
        if self._runner is None:
            return
        try:
            await self.app.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:  # Telegram keeps calling a dead address; nothing is lost
            logger.warning("could not remove the webhook (%s)", type(exc).__name__)
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        await self._runner.cleanup()
        self._runner = None
        for task in list(self._late):  # a slow store still running: its update is handed over
            with contextlib.suppress(Exception):
                await task
        logger.info("webhook removed; server stopped")

    async def _beat_loop(self) -> None:
        """Tells health the listener is alive."""
        while True:
            await asyncio.sleep(BEAT_EVERY)
            heartbeat.beat(self.app, "updates_at")

    # -- requests -------------------------------------------------------------------------

    def _authentic(self, request: web.Request) -> bool:
        """Whether the call carries our secret (compared in constant time, never logged)."""
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8", "replace"), self._secret)

    async def _receive(self, request: web.Request) -> web.Response:
        """Stores the update, then answers 200 and hands it to the handlers (if new)."""
        if not self._authentic(request):
            logger.warning("webhook: refused a call without the right secret (403)")
            return web.Response(status=403)
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("not an object")
            update = Update.de_json(data, self.app.bot)
        except Exception as exc:  # rubbish from someone holding the secret: not an update
            logger.warning(
                "webhook: refused a body that is not an update (%s)", type(exc).__name__
            )
            return web.Response(status=400)
        stored = asyncio.ensure_future(self.db.run(inbox.store, [incoming(update)]))
        try:
            fresh = await asyncio.wait_for(asyncio.shield(stored), self.store_timeout)
        except TimeoutError:
            logger.warning("webhook: storing update %d is slow; answered 500", update.update_id)
            self._late.add(stored)
            stored.add_done_callback(lambda task: self._stored_late(task, update))
            return web.Response(status=500)
        except Exception as exc:
            # Nothing is acknowledged: Telegram sends it again. The store may have committed
            # all the same (an error after the commit), so a redelivery may hand it over.
            logger.warning("webhook: could not store update %d (%s); answered 500",
                           update.update_id, type(exc).__name__)  # fmt: skip
            self._uncertain.add(update.update_id)
            return web.Response(status=500)
        heartbeat.beat(self.app, "updates_at")
        if update.update_id in fresh or await self._lost(update.update_id):
            await self._hand_over(update)
        else:
            logger.info("webhook: update %d was redelivered; not handled again", update.update_id)
        return web.Response(status=200)

    async def _lost(self, update_id: int) -> bool:
        """A stored update never handed over: its store raised but had committed."""
        if update_id not in self._uncertain or update_id in self._queued:
            return False
        pending = await self.db.run(_pending, update_id)  # raising: a 500, asked again later
        self._uncertain.discard(update_id)
        return bool(pending)

    async def _hand_over(self, update: Update) -> None:
        """Puts the update on PTB's queue, once per process."""
        self._queued.add(update.update_id)
        self._uncertain.discard(update.update_id)
        await self.app.update_queue.put(update)

    def _stored_late(self, task: asyncio.Task[set[int]], update: Update) -> None:
        """A store that outlasted its call finished: a committed update is handed over now."""
        self._late.discard(task)
        if task.cancelled() or task.exception() is not None:
            self._uncertain.add(update.update_id)
            return
        if update.update_id in task.result():
            self._queued.add(update.update_id)
            self.app.update_queue.put_nowait(update)

    async def _health(self, request: web.Request) -> web.Response:
        """The same JSON as ``python -m bot health --json``: 200 when healthy, else 503."""
        try:
            found = await self.db.run(report)
        except Exception as exc:
            logger.warning("health: the database cannot be read (%s)", type(exc).__name__)
            body = json.dumps({"ok": False, "error": "the database cannot be read"})
            return web.Response(text=body, status=503, content_type=JSON_TYPE)
        status = 200 if found["ok"] else 503
        return web.Response(text=render(found, True), status=status, content_type=JSON_TYPE)


def _pending(session: Session, update_id: int) -> bool:
    """Whether the stored update still waits to be handled (not done or failed already)."""
    row = session.get(InboundUpdate, update_id)
    return row is not None and row.state == InboundState.PENDING


async def _retrying(action: Callable[[], Awaitable[Any]], retries: int, what: str) -> None:
    """Runs ``action``, trying again after a network blip or a 429 up to ``retries`` times."""
    for attempt in range(retries + 1):
        try:
            await action()
            return
        except InvalidToken:
            raise
        except RetryAfter as exc:
            if attempt == retries:
                raise
            pause = exc.retry_after
            await asyncio.sleep(pause if isinstance(pause, int | float) else pause.total_seconds())
        except NetworkError:
            if attempt == retries:
                raise
            logger.info("%s: network error; trying again", what)
            await asyncio.sleep(1.0)


def _raise_system_exit() -> None:
    """A stop signal ends ``run_forever`` the way PTB's run_polling does."""
    raise SystemExit


def run(app: Application[Any, Any, Any, Any, Any, Any], server: WebhookServer, *,
        bootstrap_retries: int = 0) -> None:  # fmt: skip
    """Runs the Application with ``server`` until SIGINT/SIGTERM/SIGABRT or ``stop_running``.

    The same steps as PTB's run_polling: initialize, post_init, serve, start; on a stop,
    the server, stop, post_stop, shutdown, post_shutdown.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        loop.add_signal_handler(sig, _raise_system_exit)
    try:
        loop.run_until_complete(_retrying(app.initialize, bootstrap_retries, "initialize"))
        if app.post_init:
            loop.run_until_complete(app.post_init(app))
        loop.run_until_complete(server.start(retries=bootstrap_retries))
        loop.run_until_complete(app.start())
        # app.stop_running() (a lost lease) stops this loop; a signal raises SystemExit.
        loop.run_forever()
    except (KeyboardInterrupt, SystemExit):
        logger.debug("stop signal received")
    finally:
        try:
            loop.run_until_complete(server.stop())
            if app.running:
                loop.run_until_complete(app.stop())
                if app.post_stop:
                    loop.run_until_complete(app.post_stop(app))
            loop.run_until_complete(app.shutdown())
            if app.post_shutdown:
                loop.run_until_complete(app.post_shutdown(app))
        finally:
            loop.close()
