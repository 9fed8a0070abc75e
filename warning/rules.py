"""Everything a command needs to decide, besides the warning and the actor."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from warning.areas import AreaTree
from warning.catalog import Catalog
from warning.policy import Policy


@dataclass(frozen=True)
class Rules:
    catalog: Catalog
    policy: Policy
    areas: AreaTree
    issuer_area: str  # 6-digit code of the issuing county, first part of CAP identifiers
    tz: ZoneInfo  # local time of the issuing office (CAP `sent` carries its offset)
