"""In-memory world of the local Bot API: chats, messages, files, updates and bot settings.

Everything runs on one asyncio loop, so plain data structures plus an "anything changed" event
are enough; the HTTP layer and the test-facing handles both call into ``World``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localapi.faults import FaultRule
from localapi.limits import Counters, Limiter, too_many

__all__ = [
    "MAX_DOWNLOAD_SIZE",
    "ApiError",
    "ChatState",
    "FileRecord",
    "SentMessage",
    "World",
    "bad_request",
    "now",
]

JSON = dict[str, Any]
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """Return the JSON body Telegram would send for this error."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    """Return a 400 ApiError with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class FileRecord:
    """A stored file: bytes (or only a size, for cheap huge files) and its identifiers."""

    file_id: str
    file_unique_id: str
    file_path: str
    size: int
    data: bytes | None = None
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class SentMessage:
    """A snapshot of one bot message in a chat, as the user currently sees it."""

    message_id: int
    kind: str
    text: str
    caption: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    raw: JSON
    parse_mode: str | None = None
    source_text: str | None = None
    file_bytes: bytes | None = None
    file_name: str | None = None
    edited: bool = False
    deleted: bool = False

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons flattened to (text, callback_data or url); reply keyboards as text."""
        markup = self.reply_markup or {}
        result: list[tuple[str, str | None]] = []
        for row in markup.get("inline_keyboard", []):
            for button in row:
                result.append((button["text"], button.get("callback_data", button.get("url"))))
        for row in markup.get("keyboard", []):
            for button in row:
                label = button if isinstance(button, str) else button.get("text", "")
                result.append((label, None))
        return result

    @property
    def content(self) -> str:
        """Text for text messages, caption for media (never None)."""
        return self.text or (self.caption or "")


@dataclass
class ChatState:
    """One chat: its Chat object, messages by id and the bot's messages in order."""

    chat: JSON
    next_message_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)
    bot_message_ids: list[int] = field(default_factory=list)
    meta: dict[int, JSON] = field(default_factory=dict)
    blocked: bool = False
    started: bool = True
    user: JSON | None = None
    member_ids: set[int] = field(default_factory=set)

    @property
    def id(self) -> int:
        """The chat id."""
        return int(self.chat["id"])

    def take_message_id(self) -> int:
        """Allocate the next message id in this chat."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def snapshot(self, message_id: int) -> SentMessage:
        """Build a SentMessage view of a stored bot message."""
        message = self.messages[message_id]
        meta = self.meta.get(message_id, {})
        kind = next(
            (k for k in ("photo", "document", "voice", "audio", "sticker") if k in message),
            "text",
        )
        return SentMessage(
            message_id=message_id,
            kind=kind,
            text=message.get("text", ""),
            caption=message.get("caption"),
            entities=list(message.get("entities") or message.get("caption_entities") or []),
            reply_markup=copy.deepcopy(meta.get("reply_markup")),
            raw=copy.deepcopy(message),
            parse_mode=meta.get("parse_mode"),
            source_text=meta.get("source_text"),
            file_bytes=meta.get("file_bytes"),
            file_name=meta.get("file_name"),
            edited="edit_date" in message,
            deleted=bool(meta.get("deleted")),
        )


class World:
    """All mutable state of one local Bot API instance."""

    def __init__(self, token: str, bot_username: str, bot_name: str) -> None:
        self.token = token
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, FileRecord] = {}
        self.updates: list[JSON] = []
        self.next_update_id = 1
        self.delivered_up_to = 0
        self.allowed_updates: list[str] = []
        self.webhook: JSON = {}
        self.commands: dict[tuple[Any, ...], list[JSON]] = {}
        self.commands_fallback = False
        self.menu_buttons: dict[int | None, JSON] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.callback_queries: dict[str, JSON] = {}
        self.callback_answers: dict[int, list[JSON]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.requests_log: list[tuple[str, JSON]] = []
        self.faults: list[FaultRule] = []
        self.limiter: Limiter | None = None
        self.counters = Counters()
        # Called with (chat_id, message) as each new bot message is stored (benchmarks' clocks).
        self.listeners: list[Callable[[int, JSON], None]] = []
        self.change_seq = 0
        self.last_activity = time.monotonic()
        self._changed = asyncio.Event()
        self._file_counter = itertools.count(1)

    # -- change notification -------------------------------------------------------------

    def touch(self) -> None:
        """Record activity and wake everything waiting for a change."""
        self.change_seq += 1
        self.last_activity = time.monotonic()
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, timeout: float) -> None:
        """Wait until the next change or ``timeout`` seconds."""
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    # -- chats ---------------------------------------------------------------------------

    def chat(self, chat_id: Any) -> ChatState:
        """Resolve a chat_id (int, numeric string or @username) or raise "chat not found"."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            for state in self.chats.values():
                if str(state.chat.get("username", "")).lower() == wanted:
                    return state
            raise bad_request("chat not found")
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        found = self.chats.get(key)
        if found is None:
            raise bad_request("chat not found")
        return found

    def check_can_send(self, state: ChatState) -> None:
        """Raise the 403/429 a real send to this chat would get now."""
        private = state.chat["type"] == "private"
        if private:
            if state.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not state.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if self.limiter is not None:
            retry_after = self.limiter.check(state.id, private=private)
            if retry_after is not None:
                raise ApiError(*too_many(retry_after))

    # -- messages ------------------------------------------------------------------------

    def store_bot_message(self, state: ChatState, message: JSON, meta: JSON) -> JSON:
        """Store a message the bot just sent and notify waiters; returns the message."""
        state.messages[message["message_id"]] = message
        state.bot_message_ids.append(message["message_id"])
        state.meta[message["message_id"]] = meta
        self.mark_changed(state, message["message_id"])
        self.counters.delivered[state.id] += 1
        self.counters.send_times.append(time.monotonic())
        for listener in self.listeners:
            listener(state.id, message)
        return message

    def mark_changed(self, state: ChatState, message_id: int) -> None:
        """Note that a bot message was sent or edited now (for ``wait_for``)."""
        self.touch()
        state.meta.setdefault(message_id, {})["seq"] = self.change_seq

    def bot_messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """Snapshots of every bot message in a chat, oldest first."""
        state = self.chats.get(chat_id)
        if state is None:
            return []
        snaps = [state.snapshot(mid) for mid in state.bot_message_ids]
        return [s for s in snaps if include_deleted or not s.deleted]

    def message(self, state: ChatState, message_id: Any, *, missing: str) -> JSON:
        """Return a live (not deleted) message or raise 400 with ``missing``."""
        try:
            key = int(message_id)
        except (TypeError, ValueError):
            raise bad_request(missing) from None
        message = state.messages.get(key)
        if message is None or state.meta.get(key, {}).get("deleted"):
            raise bad_request(missing)
        return message

    # -- updates -------------------------------------------------------------------------

    def push_update(self, kind: str, payload: JSON) -> JSON:
        """Append an update of type ``kind`` and wake long pollers."""
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.touch()
        return update

    def confirm(self, offset: int) -> None:
        """Apply getUpdates offset semantics (positive confirms, negative keeps the tail)."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    def pending(self, limit: int) -> list[JSON]:
        """Updates the bot may receive now, honouring allowed_updates."""
        allowed = self.allowed_updates
        if allowed:
            self.updates = [u for u in self.updates if _update_kind(u) in allowed]
        else:
            skip = {"chat_member", "message_reaction", "message_reaction_count"}
            self.updates = [u for u in self.updates if _update_kind(u) not in skip]
        batch = self.updates[:limit]
        if batch:
            self.delivered_up_to = max(self.delivered_up_to, batch[-1]["update_id"])
        return batch

    # -- files ---------------------------------------------------------------------------

    def add_file(
        self,
        folder: str,
        extension: str,
        data: bytes | None,
        *,
        size: int | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> FileRecord:
        """Store a file and give it ids and a download path."""
        number = next(self._file_counter)
        unique = f"LU{number:05d}{secrets.token_hex(3)}"
        record = FileRecord(
            file_id=f"LOCAL-{folder.upper()}-{unique}-{secrets.token_hex(8)}",
            file_unique_id=unique,
            file_path=f"{folder}/file_{number}.{extension}",
            size=len(data) if data is not None else int(size or 0),
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[record.file_id] = record
        return record

    def file(self, file_id: Any) -> FileRecord:
        """Look up a file by id or raise Telegram's "wrong file identifier"."""
        record = self.files.get(str(file_id))
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return record

    def file_by_path(self, path: str) -> FileRecord | None:
        """Find a file by its download path."""
        return next((f for f in self.files.values() if f.file_path == path), None)


def _update_kind(update: JSON) -> str:
    return next(k for k in update if k != "update_id")


def now() -> int:
    """Unix time in seconds, as Telegram dates are."""
    return int(time.time())
