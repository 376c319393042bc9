"""ESOL classes end to end: a caseworker enrols a family member with buttons, the member gets
the timetable in Arabic with a bank holiday and a break shown as no class, /classes shows it,
and forged buttons change nothing."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.services import classes
from bot.services.working_hours import WorkingHours
from localapi import UserHandle
from storage.models import Enrolment
from tests.e2e.conftest import Harness


def _next_bank_holiday() -> date:
    """The first England bank holiday from next week on (the class starts on it)."""
    calendar = WorkingHours()
    day = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=7)
    while calendar.bank_holiday_name(day) is None:
        day += timedelta(days=1)
    return day


def _add_class(harness: Harness, first: date) -> int:
    """A class on the bank holiday's weekday, starting on it, with a break two weeks on."""
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[first.weekday()]
    pause = first + timedelta(days=14)  # the week after may be another bank holiday
    with harness.db.session() as session:
        esol = classes.add_class(
            session, name="ESOL Entry 3", venue="Dover Library", weekday=weekday,
            time="10:00", minutes=120, term_from=first.isoformat(),
            term_to=(first + timedelta(days=70)).isoformat(),
            breaks=[f"{pause.isoformat()}:{pause.isoformat()}"],
        )  # fmt: skip
        return esol.id or 0


async def _answer(person: UserHandle, before: int) -> str:
    """The text of the next answer to a button press."""
    for _ in range(200):
        answers = person.callback_answers
        if len(answers) > before:
            return str(answers[-1].get("text") or "")
        await asyncio.sleep(0.025)
    raise AssertionError("the button press was not answered")


async def test_caseworker_enrols_and_the_family_reads_the_timetable_in_arabic(
    harness: Harness,
) -> None:
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    lee_id, _ = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    amina = await harness.join_family("KH-0001", caseworker_id=sam_id, language="ar")
    harness.family("KH-0002", caseworker_id=lee_id, member="Huda")
    class_id = _add_class(harness, _next_bank_holiday())

    amina.send_text("/classes")
    none_yet = await amina.wait_for("لست مسجَّلًا")
    assert "مسؤول حالتك" in none_yet.text

    sam.send_text("/classes")
    await sam.wait_for("English classes: tap one")
    sam.press_button("ESOL Entry 3")
    page = await sam.wait_for("Nobody from your families is in this class yet.")
    assert "Dover Library" in page.text
    sam.press_button("Enrol someone")
    who = await sam.wait_for("Who should join this class?")
    assert [label for label, _ in who.buttons] == ["Amina (KH-0001)"]  # not Lee's Huda
    sam.press_button("Amina (KH-0001)")
    await sam.wait_for("Enrol Amina (KH-0001) in ESOL Entry 3?")
    sam.press_button("Yes, enrol")
    await sam.wait_for("Your families' members in this class:")

    notice = await amina.wait_for("لديك مكان في صف")
    for words in ("ESOL Entry 3", "Dover Library", "الدروس القادمة:", "10:00",
                  "لا يوجد درس يوم", "(عطلة رسمية)", "(عطلة الدروس)"):  # fmt: skip
        assert words in notice.text, words
    amina.send_text("/classes")
    timetable = await amina.wait_for("صفك للغة الإنجليزية:")
    assert "(عطلة رسمية)" in timetable.text and "الموعد: كل" in timetable.text

    # Forged buttons: Lee's family's member, a huge id, an unknown class.
    forged = [
        f"cl:yes:{class_id}:2",
        f"cl:out:{class_id}:2",
        "cl:open:99999999999",
        "cl:enrol:2147483647",
        f"cl:att:{class_id}:20270230:1",
    ]
    for data in forged:
        count = len(sam.callback_answers)
        sam.press(who.message_id, data)
        assert "not one you can change" in await _answer(sam, count)
    with harness.db.session() as session:
        rows = session.exec(select(Enrolment)).all()
    assert [(r.class_id, r.member_id, r.ended_at) for r in rows] == [(class_id, 1, None)]

    sam.press_button("Take Amina out")
    await sam.wait_for("Nobody from your families is in this class yet.")
    amina.send_text("/classes")
    await amina.wait_for("لست مسجَّلًا")
