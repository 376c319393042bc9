"""The outbox dispatcher, the only code that sends notices: it claims, renders, sends, records.

Every database step runs off the event loop in its own short transaction, and no Telegram call
is awaited inside a transaction. A chat's notices go in queue order (the outbox hands out one
head per chat); different chats are served concurrently, so one chat's slow translation or
retry never delays another's. A part is recorded right after Telegram accepted it, so after a
crash only the single part in flight at the kill may arrive twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio import FIRST_COMPLETED
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session
from telegram import Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.delivery import translation
from bot.services import outbox, tickets, undelivered
from bot.services.outbox import Claimed
from handlers.notices import Cancel, Outgoing, Rendered, Retarget, render
from storage.db import Database
from storage.models import NoticeState, Notification
from storage.types import utcnow

logger = logging.getLogger(__name__)

WORKER = "main"  # a second process draining the same outbox needs its own name
# Short 429s are waited out by the rate limiter; longer ones come back as RetryAfter and the
# notice is rescheduled in the database for the full retry_after, freeing its slot (and never
# holding a claim long enough to look abandoned, see outbox.STALE_CLAIM).
LIMITER_RETRY_WAIT = 60.0


class Dispatcher:
    """Drains the outbox while there is work; between notices nothing runs but a timer set
    for the next one due (and the periodic tick), so a stopped application leaves no task."""

    def __init__(self, app: Any, *, worker: str = WORKER, concurrency: int = 64) -> None:
        self.app = app
        self.db: Database = app.bot_data.db
        self.worker = worker
        self.concurrency = concurrency
        self.idle_wait = float(app.bot_data.settings.outbox_interval)
        self._dirty = False
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Marks this worker's sends cut by a crash as unknown, then starts draining."""
        recovered = await self.db.run(outbox.recover_interrupted, worker=self.worker)
        if recovered:
            logger.warning("outbox: %d sends were cut by a restart; sending them again", recovered)
        self.kick()

    def kick(self) -> None:
        """Something was queued (or is due): drain now, in the background."""
        if self._stopped:
            return
        self._dirty = True
        self._wake.set()
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, timeout: float = 10.0) -> None:
        """Stops claiming, lets sends in flight finish (what they don't is sent later)."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._inflight:
            _, pending = await asyncio.wait(self._inflight, timeout=timeout)
            for task in pending:
                task.cancel()

    async def drain(self) -> None:
        """Sends everything due now, returning when nothing due is left (tests, the tick)."""
        while True:
            claimed = await self.db.run(
                outbox.claim_due, worker=self.worker, limit=self.concurrency
            )
            if not claimed:
                if not self._inflight:
                    return
                await asyncio.wait(self._inflight)
                continue
            await asyncio.gather(*(self._spawn(notice) for notice in claimed))

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        """Claims whatever is due whenever there is room and a send finished or a kick came,
        until nothing is due or in flight; then sets a timer for the next notice due."""
        try:
            while True:
                self._dirty = False
                self._wake.clear()
                room = self.concurrency - len(self._inflight)
                claimed = (
                    await self.db.run(outbox.claim_due, worker=self.worker, limit=room)
                    if room > 0
                    else []
                )
                for notice in claimed:
                    self._spawn(notice)
                if claimed or self._dirty:
                    continue  # a chat's next notice may be due as soon as these are sent
                if not self._inflight:
                    self._arm(await self.db.run(outbox.next_due))
                    if not self._dirty:  # nothing was queued meanwhile
                        return
                    continue
                wake = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({wake, *self._inflight}, return_when=FIRST_COMPLETED)
                wake.cancel()
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup: the timer or the periodic tick tries again
            logger.exception("outbox drain failed")
            self._arm(utcnow() + timedelta(seconds=1))

    def _arm(self, due: datetime | None) -> None:
        """Wakes the dispatcher when the next waiting notice is due (the tick covers later)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if due is None or self._stopped:
            return
        seconds = (due - utcnow()).total_seconds()
        if seconds <= self.idle_wait:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(seconds, 0.0) + 0.01, self.kick)

    def _spawn(self, notice: Claimed) -> asyncio.Task[None]:
        """Starts delivering one claimed notice."""
        task = asyncio.get_running_loop().create_task(self._deliver(notice))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    # ------------------------------------------------------------ one notice

    async def _deliver(self, notice: Claimed) -> None:
        """Translates, renders, sends the parts still missing, and records the outcome."""
        try:
            try:
                await translation.prepare(self.app, notice.id)
            except Exception:  # untranslated (and marked so) is better than undelivered
                logger.exception("notice %s: translation failed", notice.id)
            rendered = await self.db.run(_render, notice.id)
            if isinstance(rendered, Cancel | Retarget):
                await self.db.run(self._close, notice, rendered)
                self._closed(notice, rendered)
                return
            await self._send_missing(notice, rendered)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or the database: retried with backoff, never stuck
            logger.exception("notice %s: delivery failed", notice.id)
            await self._retry(notice, type(exc).__name__, None)

    def _close(self, session: Session, notice: Claimed, rendered: Cancel | Retarget) -> None:
        """Records a notice that will not be sent to its recipient, and re-queues it for where
        the ticket now is when the recipient may no longer open it."""
        if isinstance(rendered, Retarget):
            outbox.retarget(
                session, notice.id, worker=self.worker, recipients=rendered.recipients,
                reason=rendered.reason,
            )  # fmt: skip
        else:
            outbox.record_cancelled(session, notice.id, worker=self.worker, reason=rendered.reason)

    def _closed(self, notice: Claimed, rendered: Cancel | Retarget) -> None:
        """Logs a closed notice and wakes the loop for any re-targeted copies."""
        logger.info("notice %s not sent: %s", notice.id, rendered.reason)
        if isinstance(rendered, Retarget) and rendered.recipients:
            self.kick()

    async def _send_missing(self, notice: Claimed, out: Outgoing) -> None:
        """Sends the parts not yet sent, recording each one as Telegram accepts it."""
        for index in range(notice.parts_sent, out.parts):
            try:
                message = await self._send_part(out, index, notice)
            except RetryAfter as exc:  # the rate limiter gave up (or there is none)
                wait = exc.retry_after
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                await self._retry(notice, "429 retry after", timedelta(seconds=seconds))
                return
            except Forbidden:
                await self._fail(notice, "403 forbidden", blocked=True)
                return
            except BadRequest as exc:
                gone = "chat not found" in exc.message.lower()
                await self._fail(notice, f"400 {exc.message}", blocked=gone)
                return
            except TelegramError as exc:  # timeouts, 5xx, network: transient
                await self._retry(notice, type(exc).__name__, None)
                return
            recorded = await self.db.run(self._record_part, notice, out, message)
            if not recorded:
                logger.warning("notice %s: claim lost while sending", notice.id)
                return

    async def _send_part(self, out: Outgoing, index: int, notice: Claimed) -> Message:
        """One Telegram call: a text piece (buttons on the last one) or an attachment."""
        bot = self.app.bot
        extra: dict[str, Any] = {}
        if getattr(bot, "rate_limiter", None) is not None:
            extra["rate_limit_args"] = {"lane": notice.lane, "max_retry_wait": LIMITER_RETRY_WAIT}
        if index < len(out.pieces):
            last = index == len(out.pieces) - 1
            markup = out.markup if last else None
            return await bot.send_message(  # type: ignore[no-any-return]
                out.chat_id, out.pieces[index], reply_markup=markup, **extra
            )
        attachment = out.attachments[index - len(out.pieces)]
        send = {
            "photo": bot.send_photo,
            "voice": bot.send_voice,
        }.get(attachment.kind, bot.send_document)
        return await send(  # type: ignore[no-any-return]
            out.chat_id, attachment.file_id, caption=attachment.caption, **extra
        )

    def _record_part(
        self, session: Session, notice: Claimed, out: Outgoing, message: Message
    ) -> bool:
        """Records one part sent (the last makes the notice sent) and links it to its ticket,
        so a Telegram reply to it finds the ticket."""
        held = outbox.record_part_sent(
            session, notice.id, worker=self.worker, parts_total=out.parts
        )
        if held and out.ticket_id is not None:
            tickets.link_message(
                session, chat_id=out.chat_id, message_id=message.message_id,
                ticket_id=out.ticket_id,
            )  # fmt: skip
        return held

    async def _retry(self, notice: Claimed, error: str, wait: timedelta | None) -> None:
        """A transient failure: tried again later; if that would be past its expiry it has
        finally failed, with its follow-up."""
        state = await self.db.run(_retry_later, notice.id, self.worker, error, wait)
        logger.warning("notice %s: %s (%s)", notice.id, error, state)
        if state == NoticeState.FAILED:
            self.kick()

    async def _fail(self, notice: Claimed, error: str, *, blocked: bool) -> None:
        """A permanent failure: the notice ends now, with its follow-up."""
        await self.db.run(_fail_now, notice.id, self.worker, error, blocked)
        logger.info("notice %s failed for good: %s", notice.id, error.split(":")[0])
        self.kick()


def _render(session: Session, notice_id: int) -> Rendered:
    """Renders a notice from the database as it is now."""
    row = session.get(Notification, notice_id)
    assert row is not None
    return render(session, row)


def _retry_later(
    session: Session, notice_id: int, worker: str, error: str, wait: timedelta | None
) -> NoticeState:
    """Records a transient failure; a notice that thereby expired gets its follow-up."""
    state = outbox.record_retry(session, notice_id, worker=worker, error=error, wait=wait)
    if state == NoticeState.FAILED:
        row = session.get(Notification, notice_id)
        assert row is not None
        undelivered.follow_up(session, row, blocked=False)
    return state


def _fail_now(session: Session, notice_id: int, worker: str, error: str, blocked: bool) -> None:
    """Records a permanent failure and its follow-up."""
    row = outbox.record_failed(session, notice_id, worker=worker, error=error)
    if row is not None:
        undelivered.follow_up(session, row, blocked=blocked)


# ---------------------------------------------------------------- the application's dispatcher


def dispatcher_of(app: Any) -> Dispatcher:
    """The application's dispatcher, created on first use."""
    found = app.bot_data.extras.get("dispatcher")
    if found is None:
        found = app.bot_data.extras["dispatcher"] = Dispatcher(app)
    return found  # type: ignore[no-any-return]


def kick(app: Any) -> None:
    """Wakes the dispatcher after an update queued notices (the update returns at once)."""
    dispatcher_of(app).kick()


async def flush(app: Any) -> None:
    """Sends everything due now and returns when it is done (tests and the periodic tick)."""
    await dispatcher_of(app).drain()


async def start(app: Any) -> None:
    """Starts the application's dispatcher (at start-up, after a crash too)."""
    await dispatcher_of(app).start()


async def settle(app: Any, timeout: float = 10.0) -> None:
    """Stops the dispatcher, letting sends in flight finish first."""
    found = app.bot_data.extras.pop("dispatcher", None)
    if found is not None:
        await found.stop(timeout)
