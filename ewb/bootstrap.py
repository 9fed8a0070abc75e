"""The composition root: settings → store, catalog, policy, clock → services and the app."""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from datetime import UTC, datetime
from functools import partial

from aiohttp import web

from config.data import cap_validator, load_catalog, load_policy
from config.settings import Settings, SettingsError
from ewb.heap import freeze_startup_heap
from ewb.services import Clock, Services
from store.db import Store
from store.engine import create_engine
from subscribers import phones
from warning.areas import AreaTree
from warning.rules import Rules


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_services(settings: Settings, clock: Clock = utc_now) -> Services:
    """Read the data files and open the engine; call `services.store.close()` when done."""
    catalog = load_catalog(settings)
    policy = load_policy(settings)

    def make_rules(tree: AreaTree) -> Rules:
        return Rules(
            catalog=catalog,
            policy=policy,
            areas=tree,
            issuer_area=settings.issuer_area,
            tz=settings.tz,
        )

    store = Store(create_engine(settings.db_url), make_rules)
    return Services(
        settings=settings,
        store=store,
        catalog=catalog,
        policy=policy,
        validate_cap=cap_validator(),
        clock=clock,
        link_key=link_key(settings),
    )


def link_key(settings: Settings) -> bytes:
    """`link_secret`, else a random key made once and kept in var_dir/link.key."""
    if settings.link_secret:
        return settings.link_secret.encode()
    path = settings.var_dir / "link.key"
    try:
        for _ in range(50):
            if key := path.read_text(encoding="ascii").strip():
                return key.encode()
            time.sleep(0.01)  # another process has just created it and is writing
        raise SettingsError(f"{path} is empty: delete it, or set link_secret")
    except FileNotFoundError:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:  # created readable by its owner only; another process may be first
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return link_key(settings)  # written by now (or being written: read again)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key)
        return key.encode()


class MaskPhones(logging.Filter):
    """Phone numbers never appear whole in the logs, whoever logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = phones.mask_text(record.getMessage())
        record.args = None
        return True


# The attributes every LogRecord has; any other is a field the caller passed in `extra`.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per record (`log_format = "json"`): at, level, logger, message,
    the record's own fields (`extra=`), and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return phones.mask_text(json.dumps(entry, ensure_ascii=False, default=str))


class MaskedText(logging.Formatter):
    """The plain text lines, tracebacks too, with every phone number masked."""

    def format(self, record: logging.LogRecord) -> str:
        return phones.mask_text(super().format(record))


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(MaskedText("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskPhones())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per timer run


def make_app(
    settings: Settings, clock: Clock = utc_now, *, scheduler: bool = True
) -> web.Application:
    """The aiohttp application with its services (and, with `scheduler`, the background
    work) attached; with `scheduler` the start-up heap is frozen once started (ewb/heap.py)."""
    from ewb import jobs
    from web.app import init_app

    app = init_app(partial(build_services, settings, clock))
    if scheduler:  # background work: the runner and timers, or handing work to workers
        app.cleanup_ctx.append(jobs.distributed_ctx if settings.distributed else jobs.embedded_ctx)
        app.on_startup.append(_freeze_heap)  # after the cleanup contexts have started
    return app


async def _freeze_heap(app: web.Application) -> None:
    freeze_startup_heap()
