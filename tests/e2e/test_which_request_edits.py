"""An edit or a redelivery while "which request?" is on screen never breaks the flow."""

from __future__ import annotations

from sqlmodel import select

from storage.models import TicketMessage
from tests.e2e.conftest import Harness
from tests.e2e.test_safeguarding_arrival import (
    open_ticket,
    redeliver,
    staff_and_family,
)

WHICH_AR = "بخصوص أي طلب هذه الرسالة؟"
WENT_WRONG_AR = "حدث خطأ"


def family_texts(harness: Harness) -> list[tuple[int, str]]:
    """Every family message kept in a request, as (request id, text)."""
    with harness.db.session() as session:
        rows = session.exec(
            select(TicketMessage).where(TicketMessage.direction == "in").order_by(TicketMessage.id)
        )
        return [(row.ticket_id, row.text) for row in rows]


async def test_an_edit_while_asked_which_request_is_added_once_as_edited(
    harness: Harness,
) -> None:
    sam, _, _, amina = await staff_and_family(harness)
    await open_ticket(amina, "المدفأة معطلة")
    await open_ticket(amina, "الباب لا يقفل")
    sent = amina.send_text("متى ستأتون؟ يوم الاثنين")
    chooser = await amina.wait_for(WHICH_AR)
    amina.edit_text(sent["message_id"], "متى ستأتون؟ يوم الثلاثاء")
    await harness.api.quiet()
    amina.press(chooser.message_id, "att:1")
    await amina.wait_for("K-0001")
    await harness.api.quiet()
    assert not any(WENT_WRONG_AR in m.text for m in amina.messages), amina.transcript()
    assert family_texts(harness)[2:] == [(1, "متى ستأتون؟ يوم الثلاثاء")]
    await sam.wait_for("يوم الثلاثاء")


async def test_a_redelivery_while_asked_which_request_is_added_once(harness: Harness) -> None:
    _, _, _, amina = await staff_and_family(harness)
    await open_ticket(amina, "المدفأة معطلة")
    await open_ticket(amina, "الباب لا يقفل")
    sent = amina.send_text("متى ستأتون؟")
    chooser = await amina.wait_for(WHICH_AR)
    redeliver(harness, sent)
    await harness.api.quiet()
    amina.press(chooser.message_id, "att:2")
    await amina.wait_for("K-0002")
    await harness.api.quiet()
    assert not any(WENT_WRONG_AR in m.text for m in amina.messages), amina.transcript()
    assert family_texts(harness)[2:] == [(2, "متى ستأتون؟")]


async def test_an_edit_and_a_redelivery_then_a_second_message_and_the_old_chooser(
    harness: Harness,
) -> None:
    _, _, _, amina = await staff_and_family(harness)
    await open_ticket(amina, "المدفأة معطلة")
    await open_ticket(amina, "الباب لا يقفل")
    sent = amina.send_text("أولاً")
    first = await amina.wait_for(WHICH_AR)
    amina.edit_text(sent["message_id"], "أولاً، مصحح")
    redeliver(harness, sent)
    amina.send_text("ثانياً")
    await amina.wait_for(lambda m: WHICH_AR in m.text and m.message_id != first.message_id)
    await harness.api.quiet()
    amina.press(first.message_id, "att:1")
    await amina.wait_for("K-0001")
    await harness.api.quiet()
    assert not any(WENT_WRONG_AR in m.text for m in amina.messages), amina.transcript()
    assert family_texts(harness)[2:] == [(1, "أولاً، مصحح"), (1, "ثانياً")]
