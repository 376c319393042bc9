"""The outbox dispatcher, the only code that sends notices: it claims, renders, sends, records.

Every database step runs off the event loop in its own short transaction, and no Telegram call
is awaited inside a transaction: a claim is one short write (it holds SQLite's write lock, so it
never renders), each notice is then rendered in a transaction of its own (a second one only when
a translator must run), and parts sent are recorded together as they come (a group commit).
Notices go in queue order (the outbox hands out one head per queue: a chat, or one ticket's
cards in a staff member's chat); different queues are served concurrently, so one slow
translation or retry never delays another chat's notices or another family's card. A part is
recorded right after Telegram accepted it, before its notice moves on, so after a crash only the
parts in flight at the kill may arrive twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio import FIRST_COMPLETED
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from telegram import Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.delivery import job_health, translation
from bot.services import outbox, people, tickets, undelivered
from bot.services.outbox import Claimed
from bot.services.people import Person
from handlers.notices import Cancel, Outgoing, Rendered, Retarget, render
from storage.db import Database
from storage.models import NoticeState, Notification
from storage.types import utcnow

logger = logging.getLogger(__name__)

WORKER = "main"  # the default of OUTBOX_WORKER: a second process needs its own name
# Short 429s are waited out by the rate limiter; longer ones come back as RetryAfter and the
# notice is rescheduled in the database for the full retry_after, freeing its slot (and never
# holding a claim long enough to look abandoned, see outbox.STALE_CLAIM).
LIMITER_RETRY_WAIT = 60.0
# After a claim that filled every free slot, claim again only once this share of the slots is
# free (or on a kick): every claim holds the database's write lock while it scans the queue, so
# claiming one or two notices after each send would starve the sends' own records of the lock.
REFILL_SHARE = 4
DRAIN_JOB = "outbox-drain"  # the drain loop's name in job_health (and in a staff report)


@dataclass
class Job:
    """A claimed notice, once prepared: rendered, or waiting for a translator (``todo``);
    ``error`` when rendering failed (it is retried with backoff)."""

    notice: Claimed
    rendered: Rendered | None = None
    todo: translation.Todo | None = None
    error: str | None = None


@dataclass
class Batch:
    """One claim: its jobs, the chats with more notices waiting behind them, and when the next
    notice not yet due becomes due (looked up only when the claim did not fill its room)."""

    jobs: list[Job] = field(default_factory=list)
    waiting: set[int] = field(default_factory=set)
    next_due: datetime | None = None


class Dispatcher:
    """Drains the outbox while there is work; between notices nothing runs but a timer set
    for the next one due (and the periodic tick), so a stopped application leaves no task."""

    def __init__(self, app: Any, *, worker: str | None = None, concurrency: int = 64) -> None:
        self.app = app
        self.db: Database = app.bot_data.db
        self.worker = worker or getattr(app.bot_data.settings, "outbox_worker", "") or WORKER
        self.concurrency = concurrency
        self.idle_wait = float(app.bot_data.settings.outbox_interval)
        self._dirty = False  # a kick: claim as soon as there is a free slot
        self._more = False  # the last claim filled its room: more may be due
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False
        self._next_due: datetime | None = None
        self._waiting: set[int] = set()  # chats whose next notice waits for the one in flight
        # Chats with notices in flight here, and how many (a caseworker's cards about different
        # tickets may be in flight together, see outbox._eligible).
        self._busy: Counter[int] = Counter()
        # Parts Telegram accepted, waiting for the next group commit (see _record).
        self._to_record: list[tuple[Claimed, Outgoing, Message, asyncio.Future[bool]]] = []
        self._recorder: asyncio.Task[None] | None = None

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
        if self._recorder is not None and not self._recorder.done():
            await asyncio.wait({self._recorder}, timeout=timeout)  # the last group commit

    async def drain(self) -> None:
        """Sends everything due now, returning when nothing due is left (tests, the tick)."""
        while True:
            batch = await self._claim(self.concurrency)
            tasks = [self._spawn(job) for job in batch.jobs]
            self._note_waiting(batch)
            if not tasks:
                if not self._inflight:
                    return
                await asyncio.wait(self._inflight)
                continue
            await asyncio.gather(*tasks)

    async def _claim(self, limit: int) -> Batch:
        """Claims up to ``limit`` notices in one short transaction."""
        return await self.db.run(_claim, self.worker, limit, set(self._busy))

    def _note_waiting(self, batch: Batch) -> None:
        """Remembers the chats with a notice waiting behind one in flight; one whose send
        already finished while the claim ran is due now."""
        self._waiting |= batch.waiting
        if batch.waiting - self._busy.keys():
            self._dirty = True

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        """Claims when there is reason to (a kick, a full claim, a chat with more waiting
        behind a finished send) and room; waits for sends otherwise; when nothing is left in
        flight, sets a timer for the next notice due. Never polls the outbox for nothing."""
        try:
            while self._dirty or self._more or self._inflight:
                self._wake.clear()
                room = self.concurrency - len(self._inflight)
                refill = self._more and room >= max(1, self.concurrency // REFILL_SHARE)
                if (self._dirty or refill or (self._more and not self._inflight)) and room > 0:
                    self._dirty = self._more = False
                    batch = await self._claim(room)
                    for job in batch.jobs:
                        self._spawn(job)
                    self._note_waiting(batch)
                    if len(batch.jobs) >= room:
                        self._more = True  # more may be due: claim again when there is room
                    else:
                        self._next_due = batch.next_due
                    continue
                wake = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({wake, *self._inflight}, return_when=FIRST_COMPLETED)
                wake.cancel()
            self._arm(self._next_due)
            job_health.succeeded(self.app, DRAIN_JOB)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup: the timer or the periodic tick tries again
            self._arm(utcnow() + timedelta(seconds=1))
            await job_health.failed(self.app, DRAIN_JOB, exc)  # staff told once if it lasts

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

    def _spawn(self, job: Job) -> asyncio.Task[None]:
        """Starts delivering one claimed notice."""
        self._busy[job.notice.chat_id] += 1
        task = asyncio.get_running_loop().create_task(self._deliver(job))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    def _moved_on(self, notice: Claimed) -> None:
        """A notice left its chat's head: claim again if the chat has another waiting."""
        self._busy[notice.chat_id] -= 1
        if self._busy[notice.chat_id] <= 0:
            del self._busy[notice.chat_id]
        if notice.chat_id in self._waiting:
            self._waiting.discard(notice.chat_id)
            self.kick()

    # ------------------------------------------------------------ one notice

    async def _deliver(self, job: Job) -> None:
        """Translates if needed, sends the parts still missing, and records the outcome."""
        notice = job.notice
        try:
            if job.rendered is None and job.todo is None and job.error is None:
                translator = self.app.bot_data.translator
                job = await self.db.run(_prepare, notice, self.worker, translator)
            if job.error is not None:
                raise RuntimeError(job.error)
            rendered = job.rendered
            if rendered is None:
                assert job.todo is not None
                done = await translation.translate_all(self.app, job.todo)
                rendered = await self.db.run(_store_and_render, notice.id, self.worker, done)
            if isinstance(rendered, Cancel | Retarget):
                self._closed(notice, rendered)
                return
            await self._send_missing(notice, rendered)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or the database: retried with backoff, never stuck
            logger.exception("notice %s: delivery failed", notice.id)
            await self._retry(notice, type(exc).__name__, None)
        finally:
            self._moved_on(notice)

    def _closed(self, notice: Claimed, rendered: Cancel | Retarget) -> None:
        """Logs a notice closed unsent (in its render's transaction); wakes the loop for any
        re-targeted copies."""
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
            recorded = await self._record(notice, out, message)
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

    async def _record(self, notice: Claimed, out: Outgoing, message: Message) -> bool:
        """Records one part sent, returning once it is committed. Parts accepted while a
        record is being written are committed together in the next transaction (a group
        commit): one write transaction per part would queue every send behind the database's
        write lock. False when the claim was lost."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._to_record.append((notice, out, message, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.get_running_loop().create_task(self._write_records())
        return await future

    async def _write_records(self) -> None:
        """Commits the parts waiting to be recorded, a group at a time, until none wait."""
        while self._to_record:
            group, self._to_record = self._to_record, []
            try:
                held = await self.db.run_first(
                    _record_parts, self.worker, [(n, o, m.message_id) for n, o, m, _ in group]
                )
            except Exception as exc:  # each sender retries its notice (see _deliver)
                for *_, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (*_, future), ok in zip(group, held, strict=True):
                if not future.done():
                    future.set_result(ok)

    async def _retry(self, notice: Claimed, error: str, wait: timedelta | None) -> None:
        """A transient failure: tried again later; if that would be past its expiry it has
        finally failed, with its follow-up."""
        state = await self.db.run(_retry_later, notice.id, self.worker, error, wait)
        logger.warning("notice %s: %s (%s)", notice.id, error, state)
        self.kick()  # its follow-up, or a timer for the retry (failures are rare: a claim is cheap)

    async def _fail(self, notice: Claimed, error: str, *, blocked: bool) -> None:
        """A permanent failure: the notice ends now, with its follow-up."""
        await self.db.run(_fail_now, notice.id, self.worker, error, blocked)
        logger.info("notice %s failed for good: %s", notice.id, error.split(":")[0])
        self.kick()


def _claim(session: Session, worker: str, limit: int, busy: set[int]) -> Batch:
    """Claims up to ``limit`` due notices, to be rendered each in its own transaction (this
    one holds the write lock that every sender's record waits for); notes which chats with a
    notice in flight (``busy`` and those just claimed) have more waiting behind it."""
    now = utcnow()
    claimed = outbox.claim_due(session, worker=worker, limit=limit, now=now)
    batch = Batch(jobs=[Job(notice) for notice in claimed])
    chats = busy | {notice.chat_id for notice in claimed}
    if chats:
        batch.waiting = outbox.chats_waiting(session, sorted(chats))
    if len(claimed) < limit:
        batch.next_due = outbox.next_due(session, after=now)
    return batch


def _record_parts(
    session: Session, worker: str, parts: list[tuple[Claimed, Outgoing, int]]
) -> list[bool]:
    """Records parts sent (a notice's last makes it sent) and links each to its ticket, so a
    Telegram reply to it finds the ticket; False for a part whose claim was lost."""
    held = []
    for notice, out, message_id in parts:
        ok = outbox.record_part_sent(session, notice.id, worker=worker, parts_total=out.parts)
        if ok and out.ticket_id is not None:
            tickets.link_message(
                session, chat_id=out.chat_id, message_id=message_id, ticket_id=out.ticket_id
            )
        held.append(ok)
    return held


def _prepare(session: Session, notice: Claimed, worker: str, translator: Any) -> Job:
    """One claimed notice, rendered now unless a translator must run first; translations that
    need no model (none for the pair, or no translator) are kept in this transaction."""
    try:
        row = session.get(Notification, notice.id)
        assert row is not None
        reader = people.identify(session, telegram_user_id=row.chat_id, language_code=None)
        work = translation.todo(session, row, reader.language)
        known, pending = [], []
        for message_id, text, source in work.messages:
            found = translation.without_model(translator, text, target=work.target, source=source)
            if found is None:
                pending.append((message_id, text, source))
            else:
                known.append((message_id, found))
        translation.store(session, known)
        if pending:
            return Job(notice, todo=translation.Todo(work.target, pending))
        return Job(notice, rendered=_render_held(session, row, worker, reader))
    except DBAPIError:  # a lost race is tried again at once by Database.run, not in minutes
        raise
    except Exception as exc:  # retried with backoff by the dispatcher, never stuck
        logger.exception("notice %s: render failed", notice.id)
        return Job(notice, error=type(exc).__name__)


def _render_held(
    session: Session, row: Notification, worker: str, reader: Person | None = None
) -> Rendered:
    """Renders a held notice as the database is now; one that will not go to its recipient is
    closed here, and re-queued for where the ticket now is when it may no longer be opened."""
    rendered = render(session, row, reader)
    if isinstance(rendered, Retarget):
        outbox.retarget(
            session, row.id or 0, worker=worker, recipients=rendered.recipients,
            reason=rendered.reason,
        )  # fmt: skip
    elif isinstance(rendered, Cancel):
        outbox.record_cancelled(session, row.id or 0, worker=worker, reason=rendered.reason)
    return rendered


def _store_and_render(
    session: Session, notice_id: int, worker: str, done: list[tuple[int, Any]]
) -> Rendered:
    """Keeps the translations just made and renders the notice with them."""
    translation.store(session, done)
    row = session.get(Notification, notice_id)
    assert row is not None
    return _render_held(session, row, worker)


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
