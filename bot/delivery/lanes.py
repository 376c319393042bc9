"""Delivery lanes: what a person is waiting for goes before what can wait."""

from __future__ import annotations

from enum import StrEnum


class Lane(StrEnum):
    """Which queue a message waits in; interactive is always served before bulk."""

    INTERACTIVE = "interactive"  # replies, cards, alerts, direct answers: a person is waiting
    BULK = "bulk"  # broadcasts and reminders: paced behind interactive, never starving it
