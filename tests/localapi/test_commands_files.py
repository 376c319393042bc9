"""Command scopes and languages, and file upload, getFile and download through PTB."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    MenuButtonCommands,
)
from telegram.error import BadRequest

from localapi import LocalBotAPI

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"


async def test_commands_resolve_by_scope_then_language(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001, language_code="ar")
    staff = api.user(2002)
    room = api.group(-100123, title="Staff room")
    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands([BotCommand("start", "ابدأ")], language_code="ar")
    await bot.set_my_commands(
        [BotCommand("help", "Help"), BotCommand("book", "Book")],
        scope=BotCommandScopeAllPrivateChats(),
    )
    await bot.set_my_commands(
        [BotCommand("queue", "Open tickets")], scope=BotCommandScopeChat(staff.id)
    )

    def names(scope: dict | None = None, language: str = "") -> list[str]:
        return [c["command"] for c in api.commands(scope, language)]

    assert names() == ["start"]
    assert api.commands(None, "ar")[0]["description"] == "ابدأ"
    assert names({"type": "all_private_chats"}, "ar") == ["help", "book"]
    assert names({"type": "chat", "chat_id": staff.id}) == ["queue"]
    assert names({"type": "chat", "chat_id": user.id}, "ar") == ["help", "book"]
    assert names({"type": "chat", "chat_id": room.chat_id}, "ar") == ["start"]

    via_ptb = await bot.get_my_commands(scope=BotCommandScopeChat(staff.id))
    assert [c.command for c in via_ptb] == ["queue"]
    assert [c.command for c in await bot.get_my_commands(language_code="ar")] == ["start"]
    # like Telegram, getMyCommands itself is an exact lookup: nothing set here -> []
    assert await bot.get_my_commands(scope=BotCommandScopeChat(user.id)) == ()
    assert api.commands({"type": "chat", "chat_id": user.id}, exact=True) == []

    await bot.delete_my_commands(scope=BotCommandScopeChat(staff.id))
    assert names({"type": "chat", "chat_id": staff.id}) == ["help", "book"]
    await bot.set_my_commands([], scope=BotCommandScopeAllPrivateChats())
    assert names({"type": "chat", "chat_id": staff.id}) == ["start"]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad Command", "x")], scope=BotCommandScopeDefault())
    assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())


async def test_user_photo_get_file_and_download(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    sent = user.send_photo(JPEG, caption="my papers")
    update = (await bot.get_updates())[0]
    assert update.message is not None and update.message.caption == "my papers"
    photo = update.message.photo[-1]
    assert photo.file_size == len(JPEG) and photo.file_id == sent["photo"][0]["file_id"]
    file = await photo.get_file()
    assert file.file_size == len(JPEG)
    assert file.file_path is not None and file.file_path.startswith(api.base_file_url)
    assert api.token not in str(api.requests_log)
    assert bytes(await file.download_as_bytearray()) == JPEG


async def test_too_big_file_cannot_be_fetched(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    user.send_voice(size=25_000_000)
    update = (await bot.get_updates())[0]
    assert update.message is not None and update.message.voice is not None
    assert update.message.voice.file_size == 25_000_000
    with pytest.raises(BadRequest, match="File is too big"):
        await update.message.voice.get_file()
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.get_file("no-such-file")


async def test_bot_uploads_and_file_id_reuse(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    room = api.group(-100123, title="Staff room")
    photo = await bot.send_photo(user.id, JPEG, caption="<b>Receipt</b>", parse_mode="HTML")
    assert photo.caption == "Receipt" and photo.caption_entities[0].type == "bold"
    assert user.last is not None and user.last.kind == "photo"
    assert user.last.file_bytes == JPEG and user.last.caption == "Receipt"
    doc = await bot.send_document(user.id, b"%PDF-1.4 test", filename="letter.pdf")
    assert doc.document is not None and doc.document.file_name == "letter.pdf"
    assert user.last.file_bytes is not None  # the photo snapshot is unchanged
    assert user.messages[-1].file_name == "letter.pdf"
    voice = await bot.send_voice(user.id, b"OggS-voice", duration=4)
    assert voice.voice is not None and voice.voice.duration.total_seconds() == 4
    again = await bot.send_photo(room.chat_id, photo.photo[-1].file_id)
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    assert room.last is not None and room.last.file_bytes == JPEG
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(user.id, JPEG, caption="x" * 1025)


async def test_forward_and_copy_user_photo_to_staff(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001, first_name="Amina")
    room = api.group(-100123, title="Staff room")
    sent = user.send_photo(JPEG)
    forwarded = await bot.forward_message(room.chat_id, user.id, sent["message_id"])
    assert forwarded.photo and forwarded.forward_origin is not None
    assert forwarded.forward_origin.sender_user.first_name == "Amina"  # type: ignore[attr-defined]
    copied = await bot.copy_message(room.chat_id, user.id, sent["message_id"], caption="from A")
    assert copied.message_id == forwarded.message_id + 1
    assert room.last is not None and room.last.caption == "from A"
    assert room.last.file_bytes is None  # file bytes of user uploads stay in the file store
    chat = await bot.get_chat(room.chat_id)
    assert chat.title == "Staff room"
    assert await bot.send_chat_action(user.id, "typing")
    assert api.chat_actions == [(1001, "typing")]


async def test_get_my_commands_fallback_option() -> None:
    async with LocalBotAPI(get_my_commands_fallback=True) as api:
        user = api.user(1001)
        async with Bot(api.token, base_url=api.base_url) as other:
            await other.set_my_commands([BotCommand("start", "Start")])
            resolved = await other.get_my_commands(scope=BotCommandScopeChat(user.id))
    assert [c.command for c in resolved] == ["start"]
