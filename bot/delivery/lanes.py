"""Delivery lanes: what a person is waiting for goes before what can wait."""

from __future__ import annotations

from enum import StrEnum


class Lane(StrEnum):
    """Which queue a message waits in; interactive first, then reminders, then bulk."""

    INTERACTIVE = "interactive"  # replies, cards, alerts, direct answers: a person is waiting
    REMINDER = "reminder"  # due at a time: after interactive, never behind a broadcast
    BULK = "bulk"  # broadcasts: paced behind the others, never starving them
