"""At DEBUG, the libraries' loggers included, the log holds no token, code, name or words."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import SafeFormatter, cap_library_loggers
from tests.e2e.conftest import TOKEN, Harness
from tests.e2e.test_tickets import report

FAMILY_WORDS = "الحنفية تسرب الماء في المطبخ منذ أسبوع"
REPLY_WORDS = "A plumber from Orbit will call on Thursday morning"
MEMBER_NAME = "Zubaida Haddad"
STAFF_NAME = "Samira Okonkwo"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every logger at DEBUG into one buffer, formatted as the bot formats its log."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(SafeFormatter("%(name)s: %(message)s", secrets=[TOKEN], tracebacks=True))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    cap_library_loggers()
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


async def test_debug_log_carries_no_secrets_names_or_text(
    harness: Harness, debug_log: io.StringIO
) -> None:
    harness.provider("Kent Refugee Action", "Dover,Thanet")
    staff_id, staff_code = harness.staff("caseworker", STAFF_NAME, "Kent Refugee Action")
    sam = harness.user(language_code="en", first_name=STAFF_NAME)
    sam.send_text(f"/start {staff_code}")
    await sam.wait_for(lambda m: any(d == "menu:tickets" for _, d in m.buttons))

    family_code = harness.family("KH-0777", caseworker_id=staff_id, member=MEMBER_NAME)
    amina = harness.user(language_code="ar", first_name=MEMBER_NAME)
    amina.send_text(f"/start {family_code}")
    await amina.wait_for(lambda m: any(d == "consent:ok" for _, d in m.buttons))
    amina.press_button("فهمت")
    await amina.wait_for(lambda m: any(d == "menu:report" for _, d in m.buttons))

    ref = await report(amina, "السكن والإصلاحات", FAMILY_WORDS)
    await sam.wait_for(ref)
    sam.send_text(f"/reply {ref} {REPLY_WORDS}")
    await sam.wait_for("Sent to the family")
    await amina.wait_for(lambda m: REPLY_WORDS in m.text or "سباك" in m.text or ref in m.text)
    await harness.api.quiet()

    text = debug_log.getvalue()
    assert "telegram" in text or "bot." in text or "handlers" in text  # the log did capture
    for secret in (TOKEN, TOKEN.split(":")[1], staff_code, family_code):
        assert secret not in text, "a token or invite code reached the log"
    for name in (MEMBER_NAME, STAFF_NAME, "Zubaida", "Samira"):
        assert name not in text, f"a name reached the log: {name}"
    for words in (FAMILY_WORDS, REPLY_WORDS, "الحنفية", "plumber"):
        assert words not in text, "message text reached the log"


def test_sql_errors_never_carry_parameters(tmp_path: object) -> None:
    from sqlalchemy.exc import IntegrityError

    from bot.services import registry
    from storage.db import Database
    from storage.models import Scheme

    db = Database("sqlite://")
    db.create_all()
    with db.session() as session:
        registry.seed(session)
    with pytest.raises(IntegrityError) as caught, db.session() as session:
        session.add(Scheme(code="VPRS", name=FAMILY_WORDS))
    assert "UNIQUE" in str(caught.value)  # the error itself is there
    assert FAMILY_WORDS not in str(caught.value), "SQL parameters are shown in errors"
    db.dispose()
