"""A local Telegram Bot API server on loopback, for the demo, end-to-end tests and benchmarks.

The bot reaches it exactly as it reaches Telegram, through PTB's ``base_url``; tests act as
Telegram users and read what each chat received::

    from telegram.ext import ApplicationBuilder
    from localapi import LocalBotAPI

    async with LocalBotAPI(token="123456:LOCAL-TEST-TOKEN") as api:
        app = (
            ApplicationBuilder()
            .token(api.token)
            .base_url(api.base_url)
            .base_file_url(api.base_file_url)
            .build()
        )
        ...  # add handlers, initialize, start polling
        amina = api.user(1001, first_name="Amina", language_code="ar")
        amina.send_text("/start")
        reply = await amina.wait_for(lambda m: "مرحبا" in m.text)
        await amina.wait_for("K-00")               # a substring works too
        amina.press_button("Book")                  # press an inline button by its text
        await api.quiet()                           # nothing more is being sent
"""

from localapi.html import EntityParseError, parse_text
from localapi.server import LocalBotAPI
from localapi.state import ApiError, SentMessage
from localapi.users import GroupHandle, UserHandle

__all__ = [
    "ApiError",
    "EntityParseError",
    "GroupHandle",
    "LocalBotAPI",
    "SentMessage",
    "UserHandle",
    "parse_text",
]
