"""Named counters (EBD and CAP sequence numbers, the area tree's revision)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from store.dialect import insert_for
from store.tables import sequences


async def next_value(conn: AsyncConnection, name: str) -> int:
    """The next value of a named counter (locked until the transaction ends)."""
    insert = insert_for(conn)
    await conn.execute(insert(sequences).values(name=name, value=0).on_conflict_do_nothing())
    await conn.execute(
        update(sequences).where(sequences.c.name == name).values(value=sequences.c.value + 1)
    )
    return await value(conn, name)


async def value(conn: AsyncConnection, name: str) -> int:
    """A named counter's current value; 0 before its first use."""
    found = (
        await conn.execute(select(sequences.c.value).where(sequences.c.name == name))
    ).scalar_one_or_none()
    return int(found or 0)
