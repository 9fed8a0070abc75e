"""What a resident's SMS reply means: unsubscribe (TD/STOP) or acknowledge (1/收到)."""

from __future__ import annotations

from enum import StrEnum


class Reply(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    ACKNOWLEDGE = "acknowledge"


# TD (退订) is the Chinese carriers' unsubscribe keyword; STOP the international one.
_UNSUBSCRIBE = {"TD", "STOP", "退订", "UNSUBSCRIBE"}
_ACKNOWLEDGE = {"1", "收到", "OK"}


def classify(text: str) -> Reply | None:
    """The meaning of a reply, or None for free text (kept for the officers to read)."""
    word = text.strip().strip("。.!！").upper()
    if word in _UNSUBSCRIBE:
        return Reply.UNSUBSCRIBE
    if word in _ACKNOWLEDGE:
        return Reply.ACKNOWLEDGE
    return None
