"""The store: transactions over one engine, with repositories bound to each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import sequences, writers
from store.areas import AreaRepository
from store.audit import AuditRepository
from store.batches import BatchRepository
from store.callbacks import CallbackRepository
from store.deliveries import DeliveryRepository
from store.dialect import analyze
from store.engine import WRITE
from store.fanout import FanoutRepository
from store.outbox import OutboxRepository
from store.platform import PlatformRepository
from store.progress import ProgressRepository
from store.reach import ReachRepository
from store.recipients import RecipientRepository
from store.residents import ResidentRepository
from store.terminals import TerminalRepository
from store.throttle import ThrottleRepository
from store.timers import TimerRepository
from store.users import UserRepository
from store.warnings import WarningRepository
from warning.areas import AreaTree
from warning.rules import Rules


class Tx:
    """One open transaction and the repositories that work inside it."""

    def __init__(self, conn: AsyncConnection, rules: RulesCache) -> None:
        self.conn = conn
        self.areas = AreaRepository(conn)
        self.audit = AuditRepository(conn)
        self.batches = BatchRepository(conn)
        self.callbacks = CallbackRepository(conn)
        self.fanout = FanoutRepository(conn)
        self.deliveries = DeliveryRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.platform = PlatformRepository(conn)
        self.progress = ProgressRepository(conn)
        self.reach = ReachRepository(conn)
        self.timers = TimerRepository(conn)
        self.recipients = RecipientRepository(conn)
        self.residents = ResidentRepository(conn)
        self.terminals = TerminalRepository(conn)
        self.throttle = ThrottleRepository(conn)
        self.users = UserRepository(conn)
        self.warnings = WarningRepository(conn)
        self._make_rules, self._rules = rules.make_rules, rules

    async def rules(self) -> Rules:
        """The domain rules with the area tree as this transaction sees it."""
        return self._make_rules(await self.areas.tree())

    async def cached_rules(self) -> Rules:
        """The same rules, the area tree re-read only when its revision changed (any
        process's `ewb areas load` or population import moves it on): for rendering,
        where every batch needs the area names."""
        return await self._rules.get(self)

    async def next_sequence(self, name: str) -> int:
        """The next value of a named counter (locked until the transaction ends)."""
        return await sequences.next_value(self.conn, name)

    async def analyze(self, *tables: Table) -> None:
        """Fresh statistics of these tables (PostgreSQL; see store.dialect.analyze)."""
        await analyze(self.conn, *tables)


class RulesCache:
    """One store's rules, kept with the area revision they were made from."""

    def __init__(self, make_rules: Callable[[AreaTree], Rules]) -> None:
        self.make_rules = make_rules
        self._held: tuple[int, Rules] | None = None

    async def get(self, tx: Tx) -> Rules:
        revision = await tx.areas.revision()
        if self._held is not None and self._held[0] == revision:
            return self._held[1]
        rules = self.make_rules(await tx.areas.tree())
        if not tx.areas.changed:  # never keep what a transaction not yet committed sees
            self._held = (revision, rules)
        return rules


def _sqlite_file(engine: AsyncEngine) -> str:
    """What names one SQLite database: its file's resolved path (an in-memory database is
    its engine's own)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return f"engine:{id(engine)}"
    return str(Path(database).resolve())


class Store:
    def __init__(self, engine: AsyncEngine, make_rules: Callable[[AreaTree], Rules]) -> None:
        self.engine = engine
        self._rules = RulesCache(make_rules)
        # SQLite has one writer at a time: this process's writers queue, urgent ones first,
        # in one queue per database file (store/writers.py).
        self._sqlite_file = _sqlite_file(engine) if engine.dialect.name == "sqlite" else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A read-write transaction: committed on success, rolled back on any error. On
        SQLite it first waits for its turn in the process's queue (store/writers.py)."""
        if self._sqlite_file is None:
            async with self._transaction() as tx:
                yield tx
            return
        async with writers.queue_for(self._sqlite_file), self._transaction() as tx:
            yield tx

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tx]:
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield Tx(conn, self._rules)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A transaction for reading (rolled back at the end)."""
        async with self.engine.connect() as conn, conn.begin():
            yield Tx(conn, self._rules)

    async def close(self) -> None:
        await self.engine.dispose()
