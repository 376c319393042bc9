"""Test-facing handles: a Telegram user in a private chat with the bot, and a group chat.

Actions (send_text, press, ...) are synchronous: they enqueue an Update and return at once;
reading helpers (messages, wait_for) see what the bot sent to the chat.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable
from typing import Any

from localapi.html import utf16_len
from localapi.state import ChatState, SentMessage, World, now

__all__ = ["GroupHandle", "UserHandle", "transcript"]

JSON = dict[str, Any]
FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00local-photo\xff\xd9"
FAKE_OGG = b"OggS\x00\x02local-voice"


def _command_entities(text: str) -> list[JSON]:
    if not text.startswith("/") or len(text) < 2:
        return []
    token = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(token)}]


def transcript(messages: list[SentMessage]) -> str:
    """Render bot messages as readable lines for assertion errors."""
    if not messages:
        return "  (no bot messages)"
    lines = []
    for m in messages:
        flags = "".join(f" [{f}]" for f in ("edited", "deleted") if getattr(m, f))
        buttons = f" buttons={[b[0] for b in m.buttons]}" if m.buttons else ""
        lines.append(f"  #{m.message_id} {m.kind}{flags}: {m.content!r}{buttons}")
    return "\n".join(lines)


class _ChatHandle:
    """Shared plumbing for chats the tests write into."""

    def __init__(self, world: World, state: ChatState) -> None:
        self._world = world
        self._state = state
        self._mark = 0

    @property
    def chat_id(self) -> int:
        """This chat's id."""
        return self._state.id

    def _post(self, sender: JSON, content: JSON, reply_to: int | None) -> JSON:
        message: JSON = {
            "message_id": self._state.take_message_id(),
            "from": copy.deepcopy(sender),
            "chat": copy.deepcopy(self._state.chat),
            "date": now(),
            **content,
        }
        if reply_to is not None:
            replied = self._state.messages.get(reply_to)
            if replied is None:
                raise AssertionError(f"no message {reply_to} in chat {self.chat_id} to reply to")
            replied = copy.deepcopy(replied)
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        self._state.messages[message["message_id"]] = message
        self._world.push_update("message", copy.deepcopy(message))
        self._mark = self._world.change_seq
        return copy.deepcopy(message)

    def _text(self, sender: JSON, text: str, reply_to: int | None) -> JSON:
        content: JSON = {"text": text}
        entities = _command_entities(text)
        if entities:
            content["entities"] = entities
        return self._post(sender, content, reply_to)

    def _file(
        self, folder: str, ext: str, data: bytes | None, size: int | None, **extra: Any
    ) -> JSON:
        record = self._world.add_file(folder, ext, data, size=size, **extra)
        info: JSON = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
        }
        return info

    def _press(self, user: JSON, message_id: int, data: str) -> str:
        message = self._state.messages.get(message_id)
        if message is None or self._state.meta.get(message_id, {}).get("deleted"):
            raise AssertionError(f"no message {message_id} in chat {self.chat_id} to press")
        query_id = str(secrets.randbits(63))
        self._world.callback_queries[query_id] = {"user_id": user["id"], "answered": False}
        self._world.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": copy.deepcopy(user),
                "message": copy.deepcopy(message),
                "chat_instance": str(abs(self.chat_id) * 7919 % 2**62),
                "data": data,
            },
        )
        self._mark = self._world.change_seq
        return query_id

    @property
    def messages(self) -> list[SentMessage]:
        """Everything the bot sent to this chat (not deleted), oldest first, as edited."""
        return self._world.bot_messages(self.chat_id)

    @property
    def all_messages(self) -> list[SentMessage]:
        """Like ``messages`` but including deleted ones (flagged ``deleted``)."""
        return self._world.bot_messages(self.chat_id, include_deleted=True)

    @property
    def last(self) -> SentMessage | None:
        """The newest visible bot message, or None."""
        messages = self.messages
        return messages[-1] if messages else None

    def transcript(self) -> str:
        """The chat's bot messages as text, for debugging."""
        return transcript(self.all_messages)

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool] | str,
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> SentMessage:
        """Wait for a bot message (sent or edited after this chat's last action) that matches.

        ``predicate`` may be a substring of the text/caption. ``since=0`` also accepts
        messages from before the last action.
        """
        check = (lambda m: predicate in m.content) if isinstance(predicate, str) else predicate
        mark = self._mark if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            state = self._world.chats[self.chat_id]
            for mid in reversed(state.bot_message_ids):
                if state.meta.get(mid, {}).get("seq", 0) <= mark:
                    continue
                snap = state.snapshot(mid)
                if not snap.deleted and check(snap):
                    return snap
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching bot message in chat {self.chat_id} within {timeout}s; "
                    f"transcript:\n{self.transcript()}"
                )
            await self._world.wait_change(remaining)

    async def wait_for_count(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until the chat holds at least ``count`` visible bot messages."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"chat {self.chat_id} has {len(self.messages)} bot messages, wanted "
                    f"{count} within {timeout}s; transcript:\n{self.transcript()}"
                )
            await self._world.wait_change(remaining)
        return self.messages

    def button(self, text: str) -> tuple[int, str]:
        """Find an inline callback button whose visible text contains ``text``, newest first."""
        for message in reversed(self.messages):
            for label, data in message.buttons:
                inline = (message.reply_markup or {}).get("inline_keyboard")
                if inline and text in label and data is not None:
                    return message.message_id, data
        raise AssertionError(
            f"no inline button containing {text!r} in chat {self.chat_id}; "
            f"transcript:\n{self.transcript()}"
        )


class UserHandle(_ChatHandle):
    """A Telegram user talking to the bot in their private chat (chat id == user id)."""

    def __init__(self, world: World, state: ChatState, user: JSON) -> None:
        super().__init__(world, state)
        self.user = user

    @property
    def id(self) -> int:
        """The user id (== private chat id)."""
        return int(self.user["id"])

    def _check_active(self) -> None:
        if self._state.blocked:
            raise AssertionError(f"user {self.id} blocked the bot; call unblock() first")
        self._state.started = True

    def send_text(self, text: str, *, reply_to: int | None = None) -> JSON:
        """Send a text message to the bot; a leading /command gets a bot_command entity."""
        self._check_active()
        return self._text(self.user, text, reply_to)

    def edit_text(self, message_id: int, text: str) -> JSON:
        """Edit a text message this user sent: the bot gets an ``edited_message`` update."""
        self._check_active()
        original = self._state.messages.get(message_id)
        if original is None or original.get("from", {}).get("id") != self.id:
            raise AssertionError(f"user {self.id} sent no message {message_id} to edit")
        edited = copy.deepcopy(original)
        edited["text"] = text
        edited["edit_date"] = now()
        edited.pop("entities", None)
        entities = _command_entities(text)
        if entities:
            edited["entities"] = entities
        self._state.messages[message_id] = edited
        self._world.push_update("edited_message", copy.deepcopy(edited))
        self._mark = self._world.change_seq
        return copy.deepcopy(edited)

    def send_photo(
        self,
        data: bytes = FAKE_JPEG,
        caption: str | None = None,
        *,
        size: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """Send a photo (stored so getFile and download work)."""
        self._check_active()
        info = self._file("photos", "jpg", data if size is None else None, size)
        content: JSON = {"photo": [{**info, "width": 1280, "height": 960}]}
        if caption:
            content["caption"] = caption
        return self._post(self.user, content, reply_to)

    def send_voice(
        self,
        data: bytes | None = None,
        duration: int = 3,
        *,
        size: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """Send a voice note; ``size=`` fakes a file of that many bytes without allocating."""
        self._check_active()
        payload = data if data is not None or size is not None else FAKE_OGG
        info = self._file("voice", "oga", payload, size, mime_type="audio/ogg")
        voice = {**info, "duration": duration, "mime_type": "audio/ogg"}
        return self._post(self.user, {"voice": voice}, reply_to)

    def send_document(
        self,
        data: bytes | None = b"local document",
        file_name: str = "document.bin",
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        size: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """Send a document; ``size=`` fakes a file of that many bytes without allocating."""
        self._check_active()
        ext = file_name.rpartition(".")[2] or "bin"
        info = self._file(
            "documents",
            ext,
            data if size is None else None,
            size,
            file_name=file_name,
            mime_type=mime_type,
        )
        content: JSON = {"document": {**info, "file_name": file_name, "mime_type": mime_type}}
        if caption:
            content["caption"] = caption
        return self._post(self.user, content, reply_to)

    def send_sticker(self, emoji: str = "👍", *, reply_to: int | None = None) -> JSON:
        """Send a regular sticker."""
        self._check_active()
        info = self._file("stickers", "webp", b"RIFF\x00local-sticker", None)
        sticker = {
            **info,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._post(self.user, {"sticker": sticker}, reply_to)

    def send_location(self, latitude: float, longitude: float) -> JSON:
        """Send a location."""
        self._check_active()
        return self._post(
            self.user, {"location": {"latitude": latitude, "longitude": longitude}}, None
        )

    def send_contact(
        self, phone_number: str, first_name: str, *, user_id: int | None = None
    ) -> JSON:
        """Send a contact card."""
        self._check_active()
        contact: JSON = {"phone_number": phone_number, "first_name": first_name}
        if user_id is not None:
            contact["user_id"] = user_id
        return self._post(self.user, {"contact": contact}, None)

    def press(self, message_id: int, data: str) -> str:
        """Press an inline button: enqueue a callback_query; returns its id."""
        self._check_active()
        return self._press(self.user, message_id, data)

    def press_button(self, text: str) -> str:
        """Press the newest inline button whose text contains ``text``; returns the query id."""
        return self.press(*self.button(text))

    @property
    def callback_answers(self) -> list[JSON]:
        """answerCallbackQuery payloads for this user's presses, in order."""
        return list(self._world.callback_answers.get(self.id, []))

    def block(self) -> None:
        """Block the bot: later sends get 403, and the bot gets a my_chat_member update."""
        self._state.blocked = True
        self._member_update("member", "kicked")

    def unblock(self) -> None:
        """Unblock (restart) the bot."""
        self._state.blocked = False
        self._state.started = True
        self._member_update("kicked", "member")

    def _member_update(self, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            body: JSON = {"status": status, "user": copy.deepcopy(self._world.bot_user)}
            if status == "kicked":
                body["until_date"] = 0
            return body

        self._world.push_update(
            "my_chat_member",
            {
                "chat": copy.deepcopy(self._state.chat),
                "from": copy.deepcopy(self.user),
                "date": now(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )
        self._mark = self._world.change_seq


class GroupHandle(_ChatHandle):
    """A group chat the bot is a member of; users post into it with ``send_text``."""

    def send_text(self, user: UserHandle, text: str, *, reply_to: int | None = None) -> JSON:
        """Post a text message from ``user`` into the group."""
        self._state.member_ids.add(user.id)
        return self._text(user.user, text, reply_to)

    def send_photo(
        self,
        user: UserHandle,
        data: bytes = FAKE_JPEG,
        caption: str | None = None,
        *,
        reply_to: int | None = None,
    ) -> JSON:
        """Post a photo from ``user`` into the group."""
        self._state.member_ids.add(user.id)
        info = self._file("photos", "jpg", data, None)
        content: JSON = {"photo": [{**info, "width": 1280, "height": 960}]}
        if caption:
            content["caption"] = caption
        return self._post(user.user, content, reply_to)

    def press(self, user: UserHandle, message_id: int, data: str) -> str:
        """``user`` presses an inline button on a message in the group; returns the query id."""
        return self._press(user.user, message_id, data)

    def press_button(self, user: UserHandle, text: str) -> str:
        """``user`` presses the newest inline button whose text contains ``text``."""
        return self.press(user, *self.button(text))
