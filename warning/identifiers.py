"""CAP identifiers in the style of GB/T 35965.1 and CAP `references` strings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

CAP_TIME = "%Y-%m-%dT%H:%M:%S"


def cap_time(moment: datetime, tz: ZoneInfo) -> str:
    """A CAP dateTime: local time to the second with a ±hh:mm offset (never 'Z')."""
    local = moment.astimezone(tz)
    offset = local.strftime("%z")
    return f"{local.strftime(CAP_TIME)}{offset[:3]}:{offset[3:]}"


def cap_identifier(area: str, org_code: str, sent: datetime, tz: ZoneInfo, sequence: int) -> str:
    """Issuing area (6 digits) + organisation code + local timestamp + sequence.

    The first two parts and the timestamp follow the identifiers of China's national
    release platform (e.g. ``32092141600000_20260728080000``); the 4-digit sequence
    keeps two versions issued in the same second apart.
    """
    stamp = sent.astimezone(tz).strftime("%Y%m%d%H%M%S")
    return f"{area}{org_code}_{stamp}_{sequence % 10000:04d}"


def cap_reference(sender: str, identifier: str, sent: datetime, tz: ZoneInfo) -> str:
    """The `sender,identifier,sent` triple CAP uses to point at an earlier message."""
    return f"{sender},{identifier},{cap_time(sent, tz)}"
