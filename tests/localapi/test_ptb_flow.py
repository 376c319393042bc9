"""End-to-end: a real PTB Application polling the local Bot API and handling user actions."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from localapi import LocalBotAPI
from tests.localapi.conftest import running_app

seen: list[Update] = []


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with the deep-link payload and a button."""
    seen.append(update)
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Book a slot", callback_data="book")]])
    await update.effective_message.reply_html(
        f"<b>Welcome</b> {' '.join(context.args or [])}", reply_markup=keyboard
    )


async def book_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and replace the keyboard message."""
    seen.append(update)
    query = update.callback_query
    assert query is not None
    await query.answer("Booked", show_alert=True)
    await query.edit_message_text("Booked K-0042")


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo group messages with the chat type."""
    seen.append(update)
    assert update.effective_message is not None and update.effective_chat is not None
    await update.effective_message.reply_text(f"seen in {update.effective_chat.type}")


def register(app: Application) -> None:
    """Wire the handlers under test."""
    app.add_handler(CommandHandler("start", start_command))
    app.add_handler(CallbackQueryHandler(book_button, pattern="^book$"))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, group_text))


async def test_initialize_reads_get_me(api: LocalBotAPI) -> None:
    async with running_app(api, register) as app:
        assert app.bot.username == "sanad_local_bot"
        me = await app.bot.get_me()
        assert me.is_bot and me.can_join_groups and me.id == 123456
    assert api.calls("getMe")


async def test_start_command_reaches_handler_and_reply_is_recorded(api: LocalBotAPI) -> None:
    seen.clear()
    amina = api.user(5_000_000_001, first_name="Amina", language_code="ar")
    async with running_app(api, register):
        sent = amina.send_text("/start ABC")
        reply = await amina.wait_for(lambda m: "Welcome" in m.text)
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    message = seen[0].message
    assert message is not None and message.chat.id == 5_000_000_001
    assert message.entities[0].type == MessageEntityType.BOT_COMMAND
    assert message.from_user is not None and message.from_user.language_code == "ar"
    assert reply.text == "Welcome ABC"
    assert reply.entities == [{"offset": 0, "length": 7, "type": "bold"}]
    assert "reply_to_message" not in reply.raw  # PTB only quotes by default in groups
    assert reply.buttons == [("Book a slot", "book")]
    assert amina.messages == [reply] and amina.last == reply


async def test_button_press_is_answered_and_message_edited(api: LocalBotAPI) -> None:
    seen.clear()
    amina = api.user(1001, first_name="Amina")
    async with running_app(api, register):
        amina.send_text("/start")
        await amina.wait_for("Welcome")
        query_id = amina.press_button("Book")
        edited = await amina.wait_for("K-0042")
        await api.quiet(0.2)
    assert edited.edited and edited.reply_markup is None and edited.buttons == []
    assert len(amina.messages) == 1
    assert amina.callback_answers == [
        {
            "callback_query_id": query_id,
            "text": "Booked",
            "show_alert": True,
            "url": None,
            "cache_time": 0,
        }
    ]
    query = seen[-1].callback_query
    assert query is not None and query.data == "book" and query.chat_instance
    assert query.message is not None and query.message.text == "Welcome"


async def test_group_message_arrives_with_group_chat_type(api: LocalBotAPI) -> None:
    seen.clear()
    staff = api.user(2002, first_name="Sam")
    room = api.group(-100123, title="Staff room")
    async with running_app(api, register):
        sent = room.send_text(staff, "hi")
        reply = await room.wait_for("seen in")
    assert reply.text == f"seen in {ChatType.GROUP}"
    assert reply.raw["chat"] == {"id": -100123, "type": "group", "title": "Staff room"}
    assert reply.raw["reply_to_message"]["message_id"] == sent["message_id"]
    message = seen[0].message
    assert message is not None and message.from_user is not None
    assert message.from_user.id == 2002 and message.chat.title == "Staff room"


async def test_staff_presses_a_button_in_the_group(api: LocalBotAPI) -> None:
    staff = api.user(2002, first_name="Sam")
    room = api.group(-100123, title="Staff room")
    async with running_app(api, register) as app:
        await app.bot.send_message(room.chat_id, "New ticket", reply_markup=_book_keyboard())
        query_id = room.press_button(staff, "Book")
        await room.wait_for("K-0042")
        await api.quiet(0.2)
    assert staff.callback_answers[0]["callback_query_id"] == query_id
    assert [m.text for m in room.messages] == ["Booked K-0042"]


async def test_wait_for_timeout_shows_the_transcript(api: LocalBotAPI) -> None:
    amina = api.user(1001)
    async with running_app(api, register):
        amina.send_text("/start")
        await amina.wait_for_count(1)
        await api.quiet(0.2)
        try:
            await amina.wait_for("never said", timeout=0.2)
        except AssertionError as exc:
            assert "Welcome" in str(exc) and "Book a slot" in str(exc)
        else:
            raise AssertionError("wait_for should have timed out")
    assert len(api.calls("sendMessage")) == 1


def _book_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Book a slot", callback_data="book")]])
