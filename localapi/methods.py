"""Bot API methods of the local server: each takes the World and the request Params.

Validation and error descriptions follow Telegram's (tdlib/telegram-bot-api) closely enough
that python-telegram-bot raises the same exceptions it would against the real service.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localapi.html import EntityParseError, parse_text, strip_text
from localapi.state import (
    MAX_DOWNLOAD_SIZE,
    ApiError,
    ChatState,
    FileRecord,
    World,
    bad_request,
    now,
)

__all__ = ["METHODS", "Params", "Upload", "command_chain", "scope_key"]

JSON = dict[str, Any]
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_OTHER_BUTTON_KINDS = (
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "copy_text",
    "callback_game",
    "pay",
)


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Request parameters from JSON, form or multipart bodies, read with typed getters."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        """Whether the parameter is present and not empty."""
        return self.values.get(name) not in (None, "")

    def raw(self, name: str, default: Any = None) -> Any:
        """The value as sent (string for form bodies)."""
        value = self.values.get(name)
        return default if value in (None, "") else value

    def get_str(self, name: str, default: str | None = None) -> str | None:
        """A string parameter."""
        value = self.raw(name)
        return default if value is None else str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter; 400 if it is not a number."""
        value = self.raw(name)
        if value is None:
            return default
        try:
            return int(float(value)) if isinstance(value, float | str) else int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str, default: float | None = None) -> float | None:
        """A float parameter."""
        value = self.raw(name)
        return default if value is None else float(value)

    def get_bool(self, name: str, default: bool = False) -> bool:
        """A boolean parameter ("true"/"false" in form bodies)."""
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, default: Any = None) -> Any:
        """A JSON-serialised parameter (objects and arrays arrive as strings in forms)."""
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def require(self, name: str, description: str | None = None) -> Any:
        """A mandatory parameter; 400 "<name> is empty" when missing."""
        value = self.raw(name)
        if value is None:
            raise bad_request(description or f"{name} is empty")
        return value


Method = Callable[[World, Params], Any]
METHODS: dict[str, Method] = {}


def method(*names: str) -> Callable[[Method], Method]:
    """Register a function as the Bot API method(s) ``names``."""

    def register(func: Method) -> Method:
        for name in names:
            METHODS[name.lower()] = func
        return func

    return register


# -- shared helpers -----------------------------------------------------------------------


def _entities(params: Params, field: str, parse_mode: str, limit: int) -> tuple[str, list[JSON]]:
    source = params.get_str(field, "") or ""
    explicit = params.get_json("entities" if field == "text" else "caption_entities")
    mode = params.get_str(parse_mode)
    try:
        text, entities = (source, list(explicit)) if explicit else parse_text(source, mode)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    text, entities = strip_text(text, entities)
    if field == "text" and not text.strip():
        raise bad_request("message text is empty")
    if len(text) > limit:
        raise bad_request(
            "message is too long" if field == "text" else "message caption is too long"
        )
    return text, entities


def _markup(params: Params) -> tuple[JSON | None, JSON | None]:
    """Return (markup as sent, inline markup or None) after Telegram's validation."""
    markup = params.get_json("reply_markup")
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup, None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or any(not isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request('can\'t find field "text"')
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
                    raise bad_request("wrong HTTP URL")
            elif not any(k in button for k in _OTHER_BUTTON_KINDS):
                raise bad_request("text buttons are unallowed in the inline keyboard")
    return markup, markup


def _reply_to(world: World, state: ChatState, params: Params) -> JSON | None:
    reply = params.get_json("reply_parameters") or {}
    message_id = reply.get("message_id", params.get_int("reply_to_message_id"))
    if message_id is None:
        return None
    if reply.get("chat_id") not in (None, state.id):
        state = world.chat(reply["chat_id"])
    allow = reply.get("allow_sending_without_reply") or params.get_bool(
        "allow_sending_without_reply"
    )
    found = state.messages.get(int(message_id))
    if found is None or state.meta.get(int(message_id), {}).get("deleted"):
        if allow:
            return None
        raise bad_request("message to be replied not found")
    found = copy.deepcopy(found)
    found.pop("reply_to_message", None)
    return found


def _base(world: World, state: ChatState) -> JSON:
    return {
        "message_id": state.take_message_id(),
        "from": copy.deepcopy(world.bot_user),
        "chat": copy.deepcopy(state.chat),
        "date": now(),
    }


def _send(world: World, params: Params, content: JSON, meta: JSON) -> JSON:
    state = world.chat(params.require("chat_id"))
    reply = _reply_to(world, state, params)
    stored, inline = _markup(params)
    world.check_can_send(state)
    message = _base(world, state)
    if reply is not None:
        message["reply_to_message"] = reply
    message.update({k: v for k, v in content.items() if v not in (None, [])})
    if inline is not None:
        message["reply_markup"] = copy.deepcopy(inline)
    if params.get_bool("protect_content"):
        message["has_protected_content"] = True
    meta = {**meta, "reply_markup": stored}
    return copy.deepcopy(world.store_bot_message(state, message, meta))


def _caption(params: Params) -> tuple[str | None, list[JSON]]:
    if not params.has("caption"):
        return None, []
    return _entities(params, "caption", "parse_mode", CAPTION_LIMIT)


def _input_file(
    world: World, params: Params, name: str, folder: str, ext: str, mime: str | None
) -> tuple[FileRecord, bytes | None]:
    value = params.raw(name)
    upload = params.uploads.get(name)
    if upload is None and isinstance(value, str) and value.startswith("attach://"):
        upload = params.uploads.get(value.removeprefix("attach://"))
    if upload is not None:
        name_ext = (upload.filename or "").rpartition(".")[2]
        content_type = upload.content_type
        if content_type in (None, "application/octet-stream"):
            content_type = mime
        record = world.add_file(
            folder,
            name_ext if name_ext and name_ext != upload.filename else ext,
            upload.data,
            file_name=upload.filename,
            mime_type=content_type,
        )
        return record, upload.data
    if value is None:
        raise bad_request(f"there is no {name} in the request")
    record = world.file(value)
    return record, record.data


# -- bot and updates ----------------------------------------------------------------------


@method("getMe")
def get_me(world: World, params: Params) -> JSON:
    """Return the bot's User."""
    return copy.deepcopy(world.bot_user)


@method("logOut", "close")
def log_out(world: World, params: Params) -> bool:
    """Accept logOut/close."""
    return True


@method("setWebhook")
def set_webhook(world: World, params: Params) -> bool:
    """Record a webhook: pending updates are then POSTed to it (localapi/webhook.py)."""
    url = params.get_str("url", "") or ""
    if params.get_bool("drop_pending_updates"):
        world.updates.clear()
    world.webhook = {
        "url": url,
        "allowed_updates": params.get_json("allowed_updates"),
        "max_connections": params.get_int("max_connections", 40),
        "secret_token": params.get_str("secret_token"),
    }
    if params.has("allowed_updates"):
        world.allowed_updates = list(params.get_json("allowed_updates"))
    return True


@method("deleteWebhook")
def delete_webhook(world: World, params: Params) -> bool:
    """Forget the webhook; optionally drop pending updates."""
    world.webhook = {}
    if params.get_bool("drop_pending_updates"):
        world.updates.clear()
    return True


@method("getWebhookInfo")
def get_webhook_info(world: World, params: Params) -> JSON:
    """Describe the recorded webhook."""
    info: JSON = {
        "url": world.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    if world.webhook.get("url"):
        info["max_connections"] = world.webhook.get("max_connections", 40)
        if world.webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = world.webhook["allowed_updates"]
        for key in ("last_error_date", "last_error_message"):
            if key in world.webhook:
                info[key] = world.webhook[key]
    return info


# -- sending ------------------------------------------------------------------------------


@method("sendMessage")
def send_message(world: World, params: Params) -> JSON:
    """Send a text message."""
    world.chat(params.require("chat_id"))
    text, entities = _entities(params, "text", "parse_mode", TEXT_LIMIT)
    meta = {"parse_mode": params.get_str("parse_mode"), "source_text": params.get_str("text")}
    return _send(world, params, {"text": text, "entities": entities}, meta)


def _media(world: World, params: Params, kind: str, folder: str, ext: str, mime: str) -> JSON:
    world.chat(params.require("chat_id"))
    caption, caption_entities = _caption(params)
    record, data = _input_file(world, params, kind, folder, ext, mime)
    info: JSON = {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": record.size,
    }
    if kind == "photo":
        body: Any = [{**info, "width": 1280, "height": 960}]
    else:
        body = {**info, "mime_type": record.mime_type or mime}
        if kind in ("document", "audio") and record.file_name:
            body["file_name"] = record.file_name
        if kind in ("voice", "audio"):
            body["duration"] = params.get_int("duration", 1)
        for extra in ("performer", "title"):
            if kind == "audio" and params.has(extra):
                body[extra] = params.get_str(extra)
    content = {kind: body, "caption": caption, "caption_entities": caption_entities}
    meta = {
        "parse_mode": params.get_str("parse_mode"),
        "source_text": params.get_str("caption"),
        "file_bytes": data,
        "file_name": record.file_name,
    }
    return _send(world, params, content, meta)


@method("sendPhoto")
def send_photo(world: World, params: Params) -> JSON:
    """Send a photo (upload or file_id)."""
    return _media(world, params, "photo", "photos", "jpg", "image/jpeg")


@method("sendDocument")
def send_document(world: World, params: Params) -> JSON:
    """Send a document (upload or file_id)."""
    return _media(world, params, "document", "documents", "bin", "application/octet-stream")


@method("sendVoice")
def send_voice(world: World, params: Params) -> JSON:
    """Send a voice note (upload or file_id)."""
    return _media(world, params, "voice", "voice", "oga", "audio/ogg")


@method("sendAudio")
def send_audio(world: World, params: Params) -> JSON:
    """Send an audio file (upload or file_id)."""
    return _media(world, params, "audio", "music", "mp3", "audio/mpeg")


_COPYABLE: tuple[str, ...] = ("text", "entities", "photo", "document", "voice", "audio")
_COPYABLE += ("sticker", "location", "contact", "caption", "caption_entities")
_GIFT_TYPES = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)


def _source(world: World, params: Params) -> JSON:
    source_chat = world.chat(params.require("from_chat_id"))
    return world.message(
        source_chat, params.require("message_id"), missing="message to copy not found"
    )


@method("copyMessage")
def copy_message(world: World, params: Params) -> JSON:
    """Copy a message's content into another chat; returns the new MessageId."""
    world.chat(params.require("chat_id"))
    source = _source(world, params)
    content = {k: copy.deepcopy(source[k]) for k in _COPYABLE if k in source}
    if params.has("caption") or params.has("caption_entities"):
        content["caption"], content["caption_entities"] = _caption(params)
    meta = {"source_text": content.get("text", content.get("caption"))}
    message = _send(world, params, content, meta)
    return {"message_id": message["message_id"]}


@method("forwardMessage")
def forward_message(world: World, params: Params) -> JSON:
    """Forward a message to another chat, keeping its origin."""
    world.chat(params.require("chat_id"))
    source = _source(world, params)
    content = {k: copy.deepcopy(source[k]) for k in _COPYABLE if k in source}
    content["forward_origin"] = {
        "type": "user",
        "sender_user": copy.deepcopy(source.get("from", world.bot_user)),
        "date": source["date"],
    }
    meta = {"source_text": content.get("text", content.get("caption"))}
    return _send(world, params, content, meta)


@method("sendChatAction")
def send_chat_action(world: World, params: Params) -> bool:
    """Record a chat action (typing, upload_photo...)."""
    state = world.chat(params.require("chat_id"))
    action = params.require("action", "action is empty")
    if state.chat["type"] == "private" and state.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    world.chat_actions.append((state.id, str(action)))
    return True


# -- editing ------------------------------------------------------------------------------


def _editable(world: World, params: Params) -> tuple[ChatState, JSON]:
    if params.has("inline_message_id"):
        raise bad_request("message to edit not found")
    state = world.chat(params.require("chat_id"))
    message = world.message(
        state, params.require("message_id"), missing="message to edit not found"
    )
    if message.get("from", {}).get("id") != world.bot_user["id"]:
        raise bad_request("message can't be edited")
    return state, message


def _apply_edit(world: World, state: ChatState, message: JSON, changes: JSON, meta: JSON) -> JSON:
    unchanged = all(message.get(k) == v for k, v in changes.items() if v is not None) and all(
        k not in message for k, v in changes.items() if v is None
    )
    if unchanged:
        raise bad_request(NOT_MODIFIED)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = now()
    state.meta[message["message_id"]].update(meta)
    world.mark_changed(state, message["message_id"])
    return copy.deepcopy(message)


@method("editMessageText")
def edit_message_text(world: World, params: Params) -> JSON:
    """Edit a bot message's text; no reply_markup removes the inline keyboard."""
    state, message = _editable(world, params)
    text, entities = _entities(params, "text", "parse_mode", TEXT_LIMIT)
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    stored, inline = _markup(params)
    changes = {"text": text, "entities": entities or None, "reply_markup": inline}
    meta = {
        "reply_markup": stored,
        "parse_mode": params.get_str("parse_mode"),
        "source_text": params.get_str("text"),
    }
    return _apply_edit(world, state, message, changes, meta)


@method("editMessageCaption")
def edit_message_caption(world: World, params: Params) -> JSON:
    """Edit a media message's caption."""
    state, message = _editable(world, params)
    caption, entities = _caption(params)
    stored, inline = _markup(params)
    changes = {"caption": caption, "caption_entities": entities or None, "reply_markup": inline}
    meta = {"reply_markup": stored, "source_text": params.get_str("caption")}
    return _apply_edit(world, state, message, changes, meta)


@method("editMessageReplyMarkup")
def edit_message_reply_markup(world: World, params: Params) -> JSON:
    """Replace or remove a message's inline keyboard."""
    state, message = _editable(world, params)
    stored, inline = _markup(params)
    return _apply_edit(world, state, message, {"reply_markup": inline}, {"reply_markup": stored})


@method("deleteMessage")
def delete_message(world: World, params: Params) -> bool:
    """Delete a message (bot's or user's) from a chat."""
    state = world.chat(params.require("chat_id"))
    message = world.message(
        state, params.require("message_id"), missing="message to delete not found"
    )
    state.meta.setdefault(message["message_id"], {})["deleted"] = True
    world.touch()
    return True


# -- callbacks, commands, chats, files ----------------------------------------------------


@method("answerCallbackQuery")
def answer_callback_query(world: World, params: Params) -> bool:
    """Record the answer to a callback query (once per query)."""
    query_id = str(params.require("callback_query_id", "query_id is empty"))
    query = world.callback_queries.get(query_id)
    if query is None or query["answered"]:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.get_str("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query["answered"] = True
    answer = {
        "callback_query_id": query_id,
        "text": text,
        "show_alert": params.get_bool("show_alert"),
        "url": params.get_str("url"),
        "cache_time": params.get_int("cache_time", 0),
    }
    world.callback_answers.setdefault(query["user_id"], []).append(answer)
    world.touch()
    return True


def scope_key(world: World, scope: JSON | None) -> tuple[Any, ...]:
    """Normalise a BotCommandScope into a hashable key (resolving chat ids)."""
    scope = scope or {"type": "default"}
    kind = scope.get("type", "default")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return (kind,)
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat = world.chat(scope.get("chat_id"))
        if kind == "chat_member":
            return (kind, chat.id, int(scope.get("user_id", 0)))
        return (kind, chat.id)
    raise bad_request("wrong scope type specified")


def command_chain(world: World, key: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Scopes Telegram tries, most specific first, when showing commands for ``key``."""
    kind = key[0]
    if kind == "chat":
        private = world.chats[key[1]].chat["type"] == "private"
        return [key, ("all_private_chats",) if private else ("all_group_chats",), ("default",)]
    if kind == "chat_administrators":
        chat = ("chat", key[1])
        return [key, chat, ("all_chat_administrators",), ("all_group_chats",), ("default",)]
    if kind == "chat_member":
        return [key, ("chat", key[1]), ("all_group_chats",), ("default",)]
    if kind == "all_chat_administrators":
        return [key, ("all_group_chats",), ("default",)]
    if kind in ("all_private_chats", "all_group_chats"):
        return [key, ("default",)]
    return [("default",)]


def _language(params: Params) -> str:
    language = params.get_str("language_code", "") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return language


@method("setMyCommands")
def set_my_commands(world: World, params: Params) -> bool:
    """Store commands for a scope and language (an empty list deletes them)."""
    commands = params.get_json("commands", [])
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    clean: list[JSON] = []
    for item in commands:
        command = str(item.get("command", "")).strip().removeprefix("/").lower()
        description = str(item.get("description", "")).strip()
        if not _COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("command description must be non-empty")
        clean.append({"command": command, "description": description})
    key = (scope_key(world, params.get_json("scope")), _language(params))
    if clean:
        world.commands[key] = clean
    else:
        world.commands.pop(key, None)
    world.touch()
    return True


@method("deleteMyCommands")
def delete_my_commands(world: World, params: Params) -> bool:
    """Delete commands for a scope and language."""
    world.commands.pop((scope_key(world, params.get_json("scope")), _language(params)), None)
    world.touch()
    return True


def resolve_commands(world: World, scope: JSON | None, language_code: str) -> list[JSON]:
    """Commands a user would see for ``scope`` and language, with Telegram's fallbacks."""
    for key in command_chain(world, scope_key(world, scope)):
        for language in ([language_code] if language_code else []) + [""]:
            if (key, language) in world.commands:
                return copy.deepcopy(world.commands[(key, language)])
    return []


@method("getMyCommands")
def get_my_commands(world: World, params: Params) -> list[JSON]:
    """Commands set for exactly this scope and language, as Telegram answers ([] if unset).

    With ``World.commands_fallback`` the answer is instead resolved the way a user's menu is.
    """
    scope, language = params.get_json("scope"), _language(params)
    if world.commands_fallback:
        return resolve_commands(world, scope, language)
    return copy.deepcopy(world.commands.get((scope_key(world, scope), language), []))


@method("setChatMenuButton")
def set_chat_menu_button(world: World, params: Params) -> bool:
    """Store the menu button for a chat or the default one."""
    chat_id = world.chat(params.raw("chat_id")).id if params.has("chat_id") else None
    world.menu_buttons[chat_id] = params.get_json("menu_button") or {"type": "default"}
    return True


@method("getChatMenuButton")
def get_chat_menu_button(world: World, params: Params) -> JSON:
    """Return the stored menu button (commands by default)."""
    chat_id = world.chat(params.raw("chat_id")).id if params.has("chat_id") else None
    return copy.deepcopy(
        world.menu_buttons.get(chat_id, world.menu_buttons.get(None, {"type": "commands"}))
    )


@method("setMyDescription", "setMyShortDescription", "setMyName")
def set_my_text(world: World, params: Params) -> bool:
    """Store the bot's description / short description / name per language."""
    for field in ("description", "short_description", "name"):
        if field in params.values:
            world.bot_texts[(field, _language(params))] = params.get_str(field, "") or ""
    return True


@method("getChat")
def get_chat(world: World, params: Params) -> JSON:
    """Return a ChatFullInfo for a known chat."""
    state = world.chat(params.require("chat_id"))
    info = copy.deepcopy(state.chat)
    info.update(
        accent_color_id=0,
        max_reaction_count=11,
        accepted_gift_types=dict.fromkeys(_GIFT_TYPES, False),
    )
    return info


@method("getFile")
def get_file(world: World, params: Params) -> JSON:
    """Describe a stored file; files over 20 MB cannot be downloaded by bots."""
    record = world.file(params.require("file_id", "file_id is empty"))
    if record.size > MAX_DOWNLOAD_SIZE:
        raise bad_request("file is too big")
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": record.size,
        "file_path": record.file_path,
    }
