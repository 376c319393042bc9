"""The update processor: each chat strictly in order, different chats at once, a bound on both."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import CallbackQuery, Chat, Message, Update, User

from bot.concurrency import ChatOrderedProcessor, order_key

GUARD = 10.0  # only keeps a broken processor from hanging the run; never reached when it works


def message_update(update_id: int, chat_id: int) -> Update:
    """A private text message from ``chat_id``."""
    user = User(id=chat_id, first_name="U", is_bot=False)
    chat = Chat(id=chat_id, type=Chat.PRIVATE)
    message = Message(update_id, datetime.now(UTC), chat, from_user=user, text=f"m{update_id}")
    return Update(update_id, message=message)


def test_order_key_is_the_chat_else_the_user() -> None:
    assert order_key(message_update(1, 42)) == ("chat", 42)
    user = User(id=7, first_name="U", is_bot=False)
    inline_press = Update(2, callback_query=CallbackQuery("q", user, "ci", inline_message_id="i"))
    assert order_key(inline_press) == ("user", 7)
    assert order_key(object()) is None


async def test_one_chat_runs_in_order_one_at_a_time() -> None:
    processor = ChatOrderedProcessor(running=8)
    log: list[tuple[str, int]] = []

    async def handle(n: int) -> None:
        log.append(("start", n))
        for _ in range(20 - n):  # earlier updates take longer: a race would reorder them
            await asyncio.sleep(0)
        log.append(("end", n))

    async with processor:
        await asyncio.wait_for(
            asyncio.gather(
                *(processor.process_update(message_update(n, 42), handle(n)) for n in range(20))
            ),
            GUARD,
        )
    expected = [step for n in range(20) for step in (("start", n), ("end", n))]
    assert log == expected
    assert processor.waiting_chats == 0


async def test_a_blocked_chat_does_not_hold_up_another() -> None:
    processor = ChatOrderedProcessor(running=8)
    release_a = asyncio.Event()
    b_done = asyncio.Event()
    order: list[str] = []

    async def slow_a() -> None:
        await release_a.wait()  # blocked until chat B has been served
        order.append("a")

    async def quick_b() -> None:
        order.append("b")
        b_done.set()

    async with processor:
        task_a = asyncio.ensure_future(processor.process_update(message_update(1, 1), slow_a()))
        task_b = asyncio.ensure_future(processor.process_update(message_update(2, 2), quick_b()))
        await asyncio.wait_for(b_done.wait(), GUARD)
        assert not task_a.done()  # A is still waiting while B has finished
        release_a.set()
        await asyncio.wait_for(asyncio.gather(task_a, task_b), GUARD)
    assert order == ["b", "a"]


async def test_no_more_than_the_bound_run_at_once_and_every_chat_finishes() -> None:
    processor = ChatOrderedProcessor(running=3)
    running = 0
    peak = 0
    gate = asyncio.Event()

    async def handle() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    async with processor:
        tasks = [
            asyncio.ensure_future(processor.process_update(message_update(n, 100 + n), handle()))
            for n in range(10)
        ]
        while running < 3:  # the first three chats take every slot
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert running == 3  # the other seven wait for a slot
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), GUARD)
    assert peak == 3


async def test_a_chat_waiting_behind_itself_takes_no_slot_from_other_chats() -> None:
    processor = ChatOrderedProcessor(running=2)
    release = asyncio.Event()
    served: list[int] = []

    async def blocked() -> None:
        await release.wait()

    async def quick(chat: int) -> None:
        served.append(chat)

    async with processor:
        # Chat 1 sends five updates; the first blocks. Chat 2 must still get the free slot.
        first = asyncio.ensure_future(processor.process_update(message_update(1, 1), blocked()))
        queued = [
            asyncio.ensure_future(processor.process_update(message_update(n, 1), quick(1)))
            for n in range(2, 6)
        ]
        other = asyncio.ensure_future(processor.process_update(message_update(9, 2), quick(2)))
        await asyncio.wait_for(other, GUARD)
        assert served == [2]
        release.set()
        await asyncio.wait_for(asyncio.gather(first, *queued), GUARD)
    assert served == [2, 1, 1, 1, 1]


async def test_an_error_in_one_update_lets_the_next_of_its_chat_run() -> None:
    processor = ChatOrderedProcessor()
    ran: list[int] = []

    async def failing() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        ran.append(2)

    async with processor:
        failed = asyncio.ensure_future(processor.process_update(message_update(1, 5), failing()))
        second = asyncio.ensure_future(processor.process_update(message_update(2, 5), fine()))
        results = await asyncio.wait_for(
            asyncio.gather(failed, second, return_exceptions=True), GUARD
        )
    assert isinstance(results[0], RuntimeError)
    assert ran == [2]


async def test_cancelled_while_waiting_closes_the_handler_and_frees_the_chat() -> None:
    processor = ChatOrderedProcessor()
    release = asyncio.Event()
    ran: list[str] = []

    async def first() -> None:
        await release.wait()
        ran.append("first")

    async def never() -> None:
        ran.append("never")

    async def third() -> None:
        ran.append("third")

    async with processor:
        one = asyncio.ensure_future(processor.process_update(message_update(1, 5), first()))
        two = asyncio.ensure_future(processor.process_update(message_update(2, 5), never()))
        three = asyncio.ensure_future(processor.process_update(message_update(3, 5), third()))
        await asyncio.sleep(0)
        two.cancel()  # pytest turns an un-awaited coroutine's warning into an error
        release.set()
        await asyncio.wait_for(asyncio.gather(one, three), GUARD)
    assert two.cancelled()
    assert ran == ["first", "third"]
