"""Publish → a family books in Arabic with buttons → the caseworker is told; the race for one
slot; forged buttons; withdrawing a booked slot; the family cancels and moves a booking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot.i18n import texts
from bot.services import slots
from localapi import UserHandle
from storage.models import Appointment, AppointmentStatus, Slot
from tests.e2e.conftest import Harness

AR = texts("ar")


def tomorrow() -> date:
    """Tomorrow in London."""
    return slots.local_today(datetime.now(UTC)) + timedelta(days=1)


def newest(person: UserHandle, prefix: str) -> tuple[int, str]:
    """The newest button whose data starts with ``prefix``: (message id, data)."""
    for message in reversed(person.messages):
        for _, data in message.buttons:
            if data is not None and data.startswith(prefix):
                return message.message_id, data
    raise AssertionError(f"no button {prefix!r}; transcript:\n{person.transcript()}")


async def setup(harness: Harness) -> tuple[int, UserHandle, UserHandle]:
    """A provider, caseworker Sam (joined) and Amina's family (Arabic) assigned to Sam."""
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id)
    return sam_id, sam, amina


async def choose_time(person: UserHandle, day: date, clock: str) -> None:
    """From the mode question (or a day list) to the chosen time's next question."""
    await person.wait_for("أي يوم يناسبك؟")
    person.press_button(AR.day(day))
    await person.wait_for("أي ساعة تناسبك؟")
    person.press_button(clock)


async def book(person: UserHandle, day: date, clock: str, *, interpreter: bool = True) -> None:
    """A family member books a home visit with buttons only, up to the confirmation."""
    person.send_text("/book")
    await person.wait_for("كيف تحب أن تلتقي بمسؤول حالتك؟")
    person.press_button("زيارة إلى البيت")
    await choose_time(person, day, clock)
    await person.wait_for("هل تحتاج مترجماً في الموعد؟")
    person.press_button("نعم، أحتاج مترجماً" if interpreter else "لا، شكراً")
    summary = await person.wait_for("من فضلك تأكد من موعدك:")
    assert AR.day(day) in summary.text and "🗣 مترجم: نعم" in summary.text


async def test_publish_book_in_arabic_and_the_caseworker_is_told(harness: Harness) -> None:
    _, sam, amina = await setup(harness)
    sam.send_text("/slots add tomorrow 10:00-11:00")
    await sam.wait_for("Published 2 slots of 30 minutes, 10:00–11:00.")
    await book(amina, tomorrow(), "10:00")
    amina.press_button("احجز الموعد")
    done = await amina.wait_for("تم حجز موعدك. أخبرنا مسؤول حالتك.")
    assert "زيارة إلى البيت" in done.text and "سنرسل لك تذكيراً قبل الموعد." in done.text
    notice = await sam.wait_for("Family KH-0001 booked a meeting")
    assert "10:00–10:30" in notice.text and "Home visit" in notice.text
    assert "Interpreter: yes" in notice.text
    sam.send_text("/slots")
    listing = await sam.wait_for("Your published time from today:")
    assert "booked by KH-0001" in listing.text and "· free" in listing.text
    with harness.db.session() as session:
        booked = session.exec(select(Appointment)).one()
        assert booked.interpreter is True and booked.slot_id is not None


async def test_two_families_race_for_one_slot(harness: Harness) -> None:
    sam_id, sam, amina = await setup(harness)
    noor = await harness.join_family("KH-0002", caseworker_id=sam_id, member="Noor")
    sam.send_text("/slots add tomorrow 10:00-11:00")
    await sam.wait_for("Published 2 slots")
    await book(amina, tomorrow(), "10:00")
    await book(noor, tomorrow(), "10:00")
    amina.press(*newest(amina, "bk:ok:"))
    noor.press(*newest(noor, "bk:ok:"))
    await harness.api.quiet()
    won = [p for p in (amina, noor) if any("تم حجز موعدك" in m.text for m in p.messages)]
    lost = [p for p in (amina, noor) if any("شخص آخر حجز هذا الوقت" in m.text for m in p.messages)]
    assert len(won) == 1 and len(lost) == 1
    loser = lost[0]
    offer = await loser.wait_for("هذه أقرب الأوقات الفارغة:", since=0)
    assert any("10:30" in label for label, _ in offer.buttons)
    assert not any("⁨10:00⁩ إلى" in label for label, _ in offer.buttons)
    loser.press(*newest(loser, "bk:time:"))
    await loser.wait_for("هل تحتاج مترجماً في الموعد؟")
    loser.press_button("لا، شكراً")
    await loser.wait_for("من فضلك تأكد من موعدك:")
    loser.press_button("احجز الموعد")
    await loser.wait_for("تم حجز موعدك")
    await sam.wait_for(lambda m: m.text.count("booked a meeting") == 1 and "10:30" in m.text)
    with harness.db.session() as session:
        rows = session.exec(select(Appointment)).all()
    assert len(rows) == 2 and len({r.slot_id for r in rows}) == 2


async def test_forged_buttons_are_refused(harness: Harness) -> None:
    sam_id, sam, amina = await setup(harness)
    _, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    lee.send_text("/slots add tomorrow 10:00-10:30")
    await lee.wait_for("Published 1 slot")
    far = slots.local_today(datetime.now(UTC)) + timedelta(days=30)
    sam.send_text(f"/slots add {far.isoformat()} 10:00-10:30")
    await sam.wait_for("Published 1 slot")
    with harness.db.session() as session:
        lee_slot, far_slot = (s.id for s in session.exec(select(Slot).order_by(Slot.id)))  # type: ignore[arg-type]
        past = Slot(
            staff_id=sam_id,
            starts_at=datetime.now(UTC) - timedelta(hours=3),
            ends_at=datetime.now(UTC) - timedelta(hours=2),
        )
        session.add(past)
        session.flush()
        past_slot = past.id
    message = amina.messages[-1].message_id
    amina.press(message, f"bk:ok:home:{lee_slot}:0:0")
    await amina.wait_for("لم يعد ممكناً حجز هذا الوقت.")
    amina.press(message, f"bk:ok:home:{far_slot}:0:0")
    await amina.wait_for("هذا الوقت بعيد جداً ولا يمكن حجزه الآن.")
    amina.press(message, f"bk:ok:home:{past_slot}:0:0")
    await amina.wait_for("هذا الوقت مضى.")
    amina.press(message, "bk:ok:home:99999999999:0:0")
    amina.press(message, "bk:ok:boat:1:0:0")
    await harness.api.quiet()
    alerts = [a.get("text", "") for a in amina.callback_answers]
    assert alerts.count("هذا الزر لم يعد يعمل.") == 2
    with harness.db.session() as session:
        assert session.exec(select(Appointment)).all() == []


async def test_withdrawing_a_booked_slot_asks_then_tells_the_family(harness: Harness) -> None:
    _, sam, amina = await setup(harness)
    sam.send_text("/slots add tomorrow 10:00-11:00")
    await sam.wait_for("Published 2 slots")
    await book(amina, tomorrow(), "10:00")
    amina.press_button("احجز الموعد")
    await amina.wait_for("تم حجز موعدك")
    await sam.wait_for("booked a meeting")
    sam.send_text("/slots")
    await sam.wait_for("booked by KH-0001")
    with harness.db.session() as session:
        booked_slot = session.exec(select(Appointment)).one().slot_id
    sam.press(*newest(sam, f"sl:wd:{booked_slot}"))
    await sam.wait_for("is booked by family KH-0001. Withdraw it and cancel their meeting?")
    with harness.db.session() as session:
        assert session.get(Slot, booked_slot).withdrawn_at is None  # type: ignore[union-attr]
    sam.press_button("Yes, withdraw and cancel")
    await sam.wait_for("The meeting with family KH-0001 is cancelled")
    told = await amina.wait_for("نأسف، اضطر مسؤول حالتك إلى إلغاء موعدك")
    assert AR.day(tomorrow()) in told.text
    amina.press_button("اختر وقتاً آخر")
    days = await amina.wait_for("أي يوم يناسبك؟")
    assert any(AR.day(tomorrow()) in label for label, _ in days.buttons)  # 10:30 still free
    with harness.db.session() as session:
        cancelled = session.exec(select(Appointment)).one()
        assert cancelled.status == AppointmentStatus.CANCELLED and cancelled.slot_id is None


async def test_the_family_cancels_and_moves_a_booking(harness: Harness) -> None:
    _, sam, amina = await setup(harness)
    sam.send_text("/slots add tomorrow 10:00-11:30")
    await sam.wait_for("Published 3 slots")
    await book(amina, tomorrow(), "10:00")
    amina.press_button("احجز الموعد")
    await amina.wait_for("تم حجز موعدك")
    await sam.wait_for("booked a meeting")

    amina.send_text("/appointments")
    listing = await amina.wait_for("لديك موعد واحد قادم:")
    assert "زيارة إلى البيت" in listing.text
    amina.press_button("🔁 تغيير")
    await choose_time(amina, tomorrow(), "11:00")
    await amina.wait_for("هل تريد تغيير موعدك؟")
    amina.press_button("نعم، غيّره")
    await amina.wait_for("تم تغيير موعدك. أخبرنا مسؤول حالتك.")
    moved = await sam.wait_for("Family KH-0001 moved their meeting from")
    assert "10:00–10:30" in moved.text and "11:00–11:30" in moved.text

    amina.send_text("/appointments")
    await amina.wait_for("لديك موعد واحد قادم:")
    amina.press_button("✖️ إلغاء")
    await amina.wait_for("هل تريد إلغاء موعدك")
    amina.press_button("نعم، ألغِه")
    await amina.wait_for("تم إلغاء موعدك")
    await sam.wait_for("Family KH-0001 cancelled their meeting")
    amina.send_text("/appointments")
    await amina.wait_for("ليس لديك مواعيد قادمة.")
    with harness.db.session() as session:
        rows = session.exec(select(Appointment).order_by(Appointment.id)).all()  # type: ignore[arg-type]
    assert [r.status for r in rows] == [AppointmentStatus.CANCELLED, AppointmentStatus.CANCELLED]
    assert rows[1].rescheduled_from_id == rows[0].id


async def test_no_caseworker_books_the_office_or_is_told_whom_to_contact(
    harness: Harness,
) -> None:
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    _, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    lee.send_text("/slots add tomorrow 14:00-14:30")
    await lee.wait_for("Published 1 slot")
    amina = await harness.join_family("KH-0003", district="Thanet")  # no caseworker
    amina.send_text("/book")
    intro = await amina.wait_for("ليس لديك مسؤول حالة بعد")
    assert "Kent Refugee Action" in intro.text
    await choose_time(amina, tomorrow(), "14:00")
    await amina.wait_for("هل تحتاج مترجماً في الموعد؟")
    amina.press_button("لا، شكراً")
    summary = await amina.wait_for("من فضلك تأكد من موعدك:")
    assert "في المكتب" in summary.text
    amina.press_button("احجز الموعد")
    await amina.wait_for("تم حجز موعدك")
    await lee.wait_for("Family KH-0003 booked a meeting")

    omar = await harness.join_family("KH-0004", district="Swale", member="Omar")  # no provider
    omar.send_text("/book")
    await omar.wait_for("من فضلك تواصل مع فريق إعادة التوطين في البلدية")
