"""The wired-up parts one process uses, built once by `ewb.bootstrap`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from config.settings import Settings
from store.db import Store
from warning.catalog import Catalog
from warning.policy import Policy

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    catalog: Catalog
    policy: Policy
    validate_cap: Callable[[bytes], None]
    clock: Clock
    link_key: bytes = b""  # signs acknowledgement links (reach/links.py)
