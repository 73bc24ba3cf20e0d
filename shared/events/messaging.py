"""baoxue.deadletter.v1: records a consumer set aside (shared/deadletters.py)."""

from __future__ import annotations

from typing import ClassVar

from shared.events.base import TOPIC_DEADLETTER, EventModel


class DeadLetterRecorded(EventModel):
    """A consumer set a record aside"""

    TOPIC: ClassVar[str] = TOPIC_DEADLETTER
    TYPE: ClassVar[str] = "baoxue.messaging.dead_letter.recorded"

    dead_letter_id: int
    service: str
    topic: str
    partition: int
    offset: int
    reason: str
    key_base64: str | None
    headers: list[list[str]]
    value_base64: str | None
