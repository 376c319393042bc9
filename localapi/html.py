"""Parse Bot API ``parse_mode`` text (HTML, MarkdownV2, Markdown) into plain text + entities.

Offsets and lengths are in UTF-16 code units, as Telegram reports them; errors mirror
Telegram's "can't parse entities" descriptions closely enough for tests.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["EntityParseError", "parse_text", "sort_entities", "strip_text", "utf16_len"]

Entity = dict[str, Any]

_SIMPLE_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
}
_HTML_TAGS = {*_SIMPLE_HTML_TAGS, "a", "span", "tg-emoji"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR_RE = re.compile(r"""\s*([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_CHAR_REF_RE = re.compile(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});")
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


class EntityParseError(ValueError):
    """Text could not be parsed for the requested parse_mode."""


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """Order entities as Telegram does: by offset, longer (outer) first."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, shifting and clipping entities."""
    lead = utf16_len(text) - utf16_len(text.lstrip())
    stripped = text.strip()
    size = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, sort_entities(result)


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Return (visible text, entities) for ``text`` under ``parse_mode`` (None = plain)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown(text, v2=True)
    if mode == "markdown":
        return _parse_markdown(text, v2=False)
    raise EntityParseError(f"Unsupported parse_mode {parse_mode!r}")


class _Builder:
    """Accumulates visible text while tracking its UTF-16 length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    entities: list[Entity] = []
    stack: list[dict[str, Any]] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            m = _CHAR_REF_RE.match(text, i)
            decoded = _decode_char_ref(m.group(1)) if m else None
            if m and decoded is not None:
                out.add(decoded)
                i = m.end()
            else:
                out.add("&")
                i += 1
            continue
        if ch != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        where = _byte_offset(text, i)
        name_match = re.match(r"/?([a-zA-Z][a-zA-Z0-9-]*)?", text[i + 1 : i + 40])
        name = (name_match.group(1) or "").lower() if name_match else ""
        closing = text.startswith("/", i + 1)
        if not closing and name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {where}')
        end = text.find(">", i)
        if end == -1:
            raise EntityParseError(f"Unclosed start tag at byte offset {where}")
        inner = text[i + 1 : end]
        if closing:
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {where}")
            top = stack.pop()
            if name and name != top["tag"]:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {where}, expected "</{top["tag"]}>", '
                    f'found "</{name}>"'
                )
            _close_html(top, out.pos, stack, entities)
            i = end + 1
            continue
        attrs = _parse_attrs(inner[len(name) :], where)
        stack.append({"tag": name, "attrs": attrs, "start": out.pos})
        i = end + 1
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"'
        )
    result = out.text()
    return result, sort_entities([e for e in entities if e["length"] > 0])


def _decode_char_ref(ref: str) -> str | None:
    if ref.startswith("#"):
        try:
            code = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
            return chr(code)
        except (ValueError, OverflowError):
            return None
    return _NAMED_ENTITIES.get(ref.lower())


def _parse_attrs(raw: str, where: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    raw = raw.rstrip("/ ")
    pos = 0
    while pos < len(raw):
        if raw[pos:].strip() == "":
            break
        m = _ATTR_RE.match(raw, pos)
        if not m or m.end() == pos:
            raise EntityParseError(f"Expected equal sign in declaration at byte offset {where}")
        attrs[m.group(1).lower()] = next((g for g in m.groups()[1:] if g is not None), "")
        pos = m.end()
    return attrs


def _close_html(
    top: dict[str, Any], pos: int, stack: list[dict[str, Any]], entities: list[Entity]
) -> None:
    tag, attrs, start = top["tag"], top["attrs"], top["start"]
    entity: Entity = {"offset": start, "length": pos - start}
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            return
        if href.startswith("tg://user?id="):
            entity.update(type="text_mention", user={"id": int(href.split("=", 1)[1] or 0)})
        else:
            entity.update(type="text_link", url=href)
    elif tag == "span":
        if attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        entity["type"] = "spoiler"
    elif tag == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=attrs.get("emoji-id", ""))
    elif tag == "code" and stack and stack[-1]["tag"] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1]["language"] = language.removeprefix("language-")
            return
        entity["type"] = "code"
    elif tag == "pre":
        entity["type"] = "pre"
        if top.get("language"):
            entity["language"] = top["language"]
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
    else:
        entity["type"] = _SIMPLE_HTML_TAGS[tag]
    entities.append(entity)


_MD_V2_MARKERS = ("```", "||", "__", "*", "_", "~", "`")
_MD_V1_MARKERS = ("```", "*", "_", "`")
_MD_TYPES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
    "`": "code",
    "```": "pre",
}


def _parse_markdown(text: str, *, v2: bool) -> tuple[str, list[Entity]]:
    out = _Builder()
    entities: list[Entity] = []
    stack: list[tuple[str, int]] = []
    markers = _MD_V2_MARKERS if v2 else _MD_V1_MARKERS
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        where = _byte_offset(text, i)
        if ch == "\\" and (v2 or (i + 1 < n and text[i + 1] in "_*`[")):
            if i + 1 < n:
                out.add(text[i + 1])
            i += 2
            continue
        if ch == "`":
            marker = "```" if text.startswith("```", i) else "`"
            close = text.find(marker, i + len(marker))
            if close == -1:
                raise EntityParseError(
                    f"Can't find end of {_MD_TYPES[marker].title()} entity at byte offset {where}"
                )
            body = text[i + len(marker) : close]
            entity: Entity = {"type": _MD_TYPES[marker], "offset": out.pos}
            if marker == "```":
                first, _, rest = body.partition("\n")
                if rest and first and " " not in first:
                    entity["language"] = first
                    body = rest
            body = re.sub(r"\\([`\\])", r"\1", body) if v2 else body
            out.add(body)
            entity["length"] = out.pos - entity["offset"]
            entities.append(entity)
            i = close + len(marker)
            continue
        if ch == "[":
            close = text.find("](", i)
            end = text.find(")", close) if close != -1 else -1
            if close == -1 or end == -1:
                raise EntityParseError(f"Can't find end of a url at byte offset {where}")
            label, _ = _parse_markdown(text[i + 1 : close], v2=v2)
            start = out.pos
            out.add(label)
            entities.append(
                {"type": "text_link", "offset": start, "length": out.pos - start}
                | {"url": text[close + 2 : end]}
            )
            i = end + 1
            continue
        found = next((m for m in markers if text.startswith(m, i)), None)
        if found is not None:
            marker = found
            if stack and stack[-1][0] == marker:
                _, start = stack.pop()
                entities.append(
                    {"type": _MD_TYPES[marker], "offset": start, "length": out.pos - start}
                )
            elif any(m == marker for m, _ in stack):
                raise EntityParseError(f"Can't find end of entity at byte offset {where}")
            else:
                stack.append((marker, out.pos))
            i += len(marker)
            continue
        if v2 and ch in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.add(ch)
        i += 1
    if stack:
        marker, _ = stack[-1]
        raise EntityParseError(f"Can't find end of {_MD_TYPES[marker].title()} entity")
    return out.text(), sort_entities([e for e in entities if e["length"] > 0])
