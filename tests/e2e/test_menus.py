"""Command menus are sent when a person's menu changes, and a restart sends none otherwise."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from storage.models import Member, Staff
from tests.e2e.conftest import Harness


def chat_menu_calls(harness: Harness) -> list[int]:
    """Chat ids of every setMyCommands for one chat's menu so far."""
    chats = []
    for params in harness.api.calls("setMyCommands"):
        scope: Any = params.get("scope")
        scope = json.loads(scope) if isinstance(scope, str) else scope
        if isinstance(scope, dict) and scope.get("type") == "chat":
            chats.append(int(scope["chat_id"]))
    return chats


async def restart_and_refresh(harness: Harness) -> list[int]:
    """Restarts the bot, waits for its menu refresh, and returns the chats it set menus in."""
    before = len(chat_menu_calls(harness))
    await harness.restart()
    assert harness.app is not None
    refresh = harness.app.bot_data.extras.get("menus")
    assert refresh is not None
    await refresh
    await harness.api.quiet()
    return chat_menu_calls(harness)[before:]


async def test_a_restart_with_nothing_changed_sends_no_menu(harness: Harness) -> None:
    harness.provider()
    amina = await harness.join_family("KH-0101")
    _, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    assert chat_menu_calls(harness) == [amina.id, sam.id]  # joining set each menu once
    assert await restart_and_refresh(harness) == []
    assert await restart_and_refresh(harness) == []
    commands = harness.api.commands({"type": "chat", "chat_id": amina.id})
    assert {"command": "report", "description": "عندي مشكلة"} in commands


async def test_a_language_change_sends_the_new_menu_at_once_and_not_again(
    harness: Harness,
) -> None:
    amina = await harness.join_family("KH-0102")
    before = len(chat_menu_calls(harness))
    amina.send_text("/language")
    await amina.wait_for("Choose your language")
    amina.press_button("English")
    await amina.wait_for("How can we help? Tap a button.")
    await harness.api.quiet()
    assert chat_menu_calls(harness)[before:] == [amina.id]
    commands = harness.api.commands({"type": "chat", "chat_id": amina.id})
    assert {"command": "report", "description": "Report a problem"} in commands
    assert await restart_and_refresh(harness) == []


async def test_a_restart_sends_only_the_menus_that_changed_meanwhile(harness: Harness) -> None:
    harness.provider()
    amina = await harness.join_family("KH-0103")
    basma = await harness.join_family("KH-0104", member="Basma")
    omar = await harness.join_family("KH-0105", member="Omar")
    sam_id, sam = await harness.join_staff("caseworker", "Sam", "Kent Refugee Action")
    kim_id, kim = await harness.join_staff("caseworker", "Kim", "Kent Refugee Action")
    lee_id, lee = await harness.join_staff("caseworker", "Lee", "Kent Refugee Action")
    with harness.db.session() as session:
        # An operator changes a language, a role and an account outside the bot; a release
        # changed Omar's menu (simulated: what was set no longer matches any current menu).
        session.execute(
            update(Member).where(col(Member.telegram_user_id) == amina.id).values(language="en")
        )
        session.execute(update(Staff).where(col(Staff.id) == sam_id).values(role="coordinator"))
        session.execute(update(Staff).where(col(Staff.id) == kim_id).values(active=False))
        session.execute(
            update(Member)
            .where(col(Member.telegram_user_id) == omar.id)
            .values(menu_fingerprint="from-an-old-release")
        )
    assert sorted(await restart_and_refresh(harness)) == sorted(
        [amina.id, omar.id, sam.id, kim.id]
    )
    assert basma.id and lee_id and lee.id  # unchanged: not sent
    assert {"command": "invite", "description": "Create an invite link"} in harness.api.commands(
        {"type": "chat", "chat_id": sam.id}
    )
    kim_menu = [c["command"] for c in harness.api.commands({"type": "chat", "chat_id": kim.id})]
    assert kim_menu == ["start", "help", "language"]  # deactivated: the stranger's menu
    assert {"command": "report", "description": "Report a problem"} in harness.api.commands(
        {"type": "chat", "chat_id": amina.id}
    )
    assert await restart_and_refresh(harness) == []
