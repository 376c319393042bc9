"""Sending and editing through PTB's Bot: Telegram's limits, parse modes and error answers."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter

from localapi import LocalBotAPI, TelegramLimits, parse_text


def keyboard(*data: str) -> InlineKeyboardMarkup:
    """One row of callback buttons labelled like their data."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


async def test_sent_message_is_full_message(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(2**40, first_name="Omar", username="omar")
    first = await bot.send_message(user.id, "one")
    second = await bot.send_message(user.id, "two")
    assert second.message_id == first.message_id + 1
    assert first.chat.id == 2**40 and first.chat.username == "omar"
    assert first.from_user is not None and first.from_user.id == bot.id
    assert abs(first.date.timestamp() - second.date.timestamp()) < 5
    assert [m.text for m in user.messages] == ["one", "two"]


async def test_text_length_limits(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    await bot.send_message(user.id, "ع" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "a" * 4097)
    # the limit applies after entity parsing: markup does not count
    await bot.send_message(user.id, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "  ")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "<b></b>", parse_mode=ParseMode.HTML)
    assert len(user.messages) == 2


async def test_callback_data_is_limited_in_bytes(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    await bot.send_message(user.id, "ok", reply_markup=keyboard("ب" * 32))  # 64 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user.id, "too long", reply_markup=keyboard("ب" * 33))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user.id, "too long", reply_markup=keyboard("x" * 65))
    assert [m.text for m in user.messages] == ["ok"]


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("<b>bold", "Can't find end tag"),
        ("<blink>x</blink>", "Unsupported start tag"),
        ("1 < 2", "Unsupported start tag"),
        ("<b>x</i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
    ],
)
async def test_bad_html_is_rejected(api: LocalBotAPI, bot: Bot, html: str, problem: str) -> None:
    user = api.user(1001)
    with pytest.raises(BadRequest, match="Can't parse entities") as info:
        await bot.send_message(user.id, html, parse_mode=ParseMode.HTML)
    assert problem.lower() in info.value.message.lower()
    assert user.messages == []


async def test_html_entities_use_utf16_offsets(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    html = (
        '😀 <b>bold <i>both</i></b> &lt;3 <a href="https://example.org">link</a> '
        '<tg-spoiler>s</tg-spoiler> <pre><code class="language-python">x = 1</code></pre>'
    )
    sent = await bot.send_message(user.id, html, parse_mode=ParseMode.HTML)
    assert sent.text == "😀 bold both <3 link s x = 1"
    got = [(e.type, e.offset, e.length) for e in sent.entities]
    assert got == [
        ("bold", 3, 9),
        ("italic", 8, 4),
        ("text_link", 16, 4),
        ("spoiler", 21, 1),
        ("pre", 23, 5),
    ]
    assert sent.entities[-1].language == "python"
    assert sent.parse_entity(sent.entities[0]) == "bold both"


def test_markdown_v2_parsing() -> None:
    text, entities = parse_text(
        r"*bold* _it_ __u__ ~s~ ||sp|| `c` [t](https://x.org) 1\.5", "MarkdownV2"
    )
    assert text == "bold it u s sp c t 1.5"
    assert [e["type"] for e in entities] == [
        "bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="reserved"):
        parse_text("1.5", "MarkdownV2")


async def test_edit_semantics(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    sent = await bot.send_message(user.id, "Pick", reply_markup=keyboard("a", "b"))
    assert sent.reply_markup is not None
    same = bot.edit_message_text("Pick", user.id, sent.message_id, reply_markup=keyboard("a", "b"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await same
    edited = await bot.edit_message_reply_markup(
        user.id, sent.message_id, reply_markup=keyboard("c")
    )
    assert not isinstance(edited, bool) and edited.edit_date is not None
    assert user.last is not None and user.last.buttons == [("c", "c")]
    # editing the text without reply_markup removes the inline keyboard
    edited = await bot.edit_message_text("Done", user.id, sent.message_id)
    assert not isinstance(edited, bool) and edited.reply_markup is None
    assert user.last is not None and user.last.edited and user.last.buttons == []
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", user.id, 999)
    assert await bot.delete_message(user.id, sent.message_id)
    assert user.messages == [] and user.all_messages[0].deleted
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("again", user.id, sent.message_id)


async def test_reply_keyboard_is_stored_but_not_returned(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    markup = ReplyKeyboardMarkup([[KeyboardButton("العربية"), KeyboardButton("English")]])
    sent = await bot.send_message(user.id, "Language?", reply_markup=markup)
    assert sent.reply_markup is None
    assert user.last is not None
    assert user.last.buttons == [("العربية", None), ("English", None)]


async def test_user_reply_carries_the_bot_message(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    sent = await bot.send_message(user.id, "Question?", reply_markup=keyboard("x"))
    message = user.send_text("answer", reply_to=sent.message_id)
    assert message["reply_to_message"]["text"] == "Question?"
    assert message["reply_to_message"]["reply_markup"] == sent.reply_markup.to_dict()
    updates = await bot.get_updates()
    assert updates[0].message is not None and updates[0].message.reply_to_message is not None
    assert updates[0].message.reply_to_message.message_id == sent.message_id


async def test_forbidden_and_missing_chats(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    stranger = api.user(3003, started=False)
    user.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "hello?")
    user.unblock()
    await bot.send_message(user.id, "welcome back")
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(stranger.id, "hi")
    stranger.send_text("/start")
    await bot.send_message(stranger.id, "now we can talk")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "nobody")
    kinds = [u.to_dict().keys() - {"update_id"} for u in await bot.get_updates()]
    assert [next(iter(k)) for k in kinds] == ["my_chat_member", "my_chat_member", "message"]


async def test_flood_makes_ptb_raise_retry_after(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    api.flood(user.id, retry_after=3, times=1)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(user.id, "first")
    assert info.value.retry_after == dt.timedelta(seconds=3)
    await bot.send_message(user.id, "second")
    assert [m.text for m in user.messages] == ["second"]


async def test_rate_limits_when_enabled(api: LocalBotAPI, bot: Bot) -> None:
    user = api.user(1001)
    api.set_rate_limits(True, clock=lambda: 100.0)  # time stands still: no refill
    for index in range(TelegramLimits().per_chat_burst):
        await bot.send_message(user.id, f"burst {index}")
    with pytest.raises(RetryAfter):
        await bot.send_message(user.id, "one too many")


async def test_wrong_token_and_unknown_method(api: LocalBotAPI) -> None:
    wrong = Bot("999:WRONG", base_url=api.base_url)
    try:
        with pytest.raises(InvalidToken):
            await wrong.initialize()
    finally:
        await wrong.shutdown()
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.base_url}{api.token}/sendTelepathy", json={})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert all(api.token not in str(entry) for entry in api.requests_log)
