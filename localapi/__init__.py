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

Under load it behaves like Telegram when asked to: ``LocalBotAPI(rate_limits=True)`` answers
429 with ``retry_after`` past about 30 messages a second or 1 a second per chat (after a short
burst); ``api.inject(Fault.BLOCKED, chat_id=..., times=2)`` and friends inject 429s, 403s,
5xx, timeouts and dropped connections; ``api.counters`` tells what it saw and answered.
Once the bot calls ``setWebhook`` (a loopback URL), each update is POSTed to it instead, retried
until answered 2xx (``api.webhook_deliveries``), and ``getUpdates`` answers 409.
"""

from localapi.faults import Fault, FaultRule
from localapi.html import EntityParseError, parse_text
from localapi.limits import Counters, TelegramLimits
from localapi.server import LocalBotAPI
from localapi.state import ApiError, SentMessage
from localapi.users import GroupHandle, UserHandle
from localapi.webhook import Delivery

__all__ = [
    "ApiError",
    "Counters",
    "Delivery",
    "EntityParseError",
    "Fault",
    "FaultRule",
    "GroupHandle",
    "LocalBotAPI",
    "SentMessage",
    "TelegramLimits",
    "UserHandle",
    "parse_text",
]
