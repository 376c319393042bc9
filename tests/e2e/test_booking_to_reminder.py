"""The whole path a family walks: published time → booked with buttons → reminded in Arabic →
"I can't come" → the caseworker is told → the family picks another time → reminded for that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.delivery import reminder_clock
from bot.services import slots
from bot.services.reminder_times import local_datetime
from storage.models import Appointment, AppointmentStatus, Reminder, ReminderState
from tests.e2e.conftest import Harness
from tests.e2e.test_booking import AR, book, choose_time, setup


def _reminders(harness: Harness) -> list[Reminder]:
    with harness.db.session() as session:
        return list(session.exec(select(Reminder).order_by(Reminder.id)))  # type: ignore[arg-type]


async def test_booked_reminded_cannot_come_and_moved(harness: Harness) -> None:
    _, sam, amina = await setup(harness)
    day = slots.local_today(datetime.now(UTC)) + timedelta(days=3)
    sam.send_text(f"/slots add {day.isoformat()} 10:00-11:00")
    await sam.wait_for("Published 2 slots of 30 minutes, 10:00–11:00.")
    await book(amina, day, "10:00")
    amina.press_button("احجز الموعد")
    await amina.wait_for("تم حجز موعدك")
    await sam.wait_for("Family KH-0001 booked a meeting")

    start = local_datetime(day, "10:00")
    planned = _reminders(harness)
    assert sorted(r.due_at for r in planned) == [
        start - timedelta(hours=24),
        start - timedelta(hours=2),
    ]
    assert all(r.state == ReminderState.PENDING for r in planned)

    assert harness.app is not None
    reminder_clock.set_clock(harness.app, lambda: start - timedelta(hours=24, seconds=-1))
    note = await amina.wait_for("سيزورك مسؤول حالتك في البيت")
    assert AR.time(start) in note.text and AR.day(day) in note.text
    amina.press_button("لا أستطيع الحضور")
    offer = await amina.wait_for("أبلغنا مسؤول حالتك")
    told = await sam.wait_for("cannot come to the meeting with you")
    assert "KH-0001" in told.text

    amina.press_button("اختر وقتاً آخر")
    await choose_time(amina, day, "10:30")
    await amina.wait_for("هل تريد تغيير موعدك؟")
    amina.press_button("نعم، غيّره")
    await amina.wait_for("تم تغيير موعدك")
    await sam.wait_for("Family KH-0001 moved their meeting from")
    assert offer.message_id > 0

    moved = local_datetime(day, "10:30")
    with harness.db.session() as session:
        rows = session.exec(select(Appointment).order_by(Appointment.id)).all()  # type: ignore[arg-type]
    assert [r.status for r in rows] == [AppointmentStatus.CANCELLED, AppointmentStatus.BOOKED]
    by_appointment = {r.appointment_id: r for r in _reminders(harness) if r.offset_minutes == 120}
    assert by_appointment[rows[0].id].state == ReminderState.CANCELLED
    assert by_appointment[rows[1].id].state == ReminderState.PENDING
    assert by_appointment[rows[1].id].due_at == moved - timedelta(hours=2)

    # Two hours before the new time: one reminder, for the new time only.
    reminder_clock.set_clock(harness.app, lambda: moved - timedelta(hours=2, seconds=-1))
    visit = "سيزورك مسؤول حالتك في البيت"
    second = await amina.wait_for(lambda m: visit in m.text and AR.time(moved) in m.text)
    await harness.api.quiet(0.5)
    assert sum(visit in m.text for m in amina.messages) == 2  # one per booking, never twice
    assert AR.time(start) not in second.text
