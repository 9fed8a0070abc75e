"""What the CLI commands do (everything but argument parsing)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from config.data import CapSchemaError
from config.settings import Settings
from ewb.bootstrap import build_services
from ewb.demo import add_demo_users, add_sample_residents, demo_password
from ewb.services import Services
from store import migrate, unit_of_work
from store.engine import create_engine
from subscribers import accounts
from warning import audit, cap
from warning.actors import Actor, Role
from warning.errors import DomainError, PermissionDenied
from web import signin
from web.passwords import hash_password

# The author of CAP alerts imported from the command line without --as: an upstream feed
# trusted like the operator who runs the command, drafting county-wide.
CAP_FEED = "cap-import"
# The actor of the audit entries written by commands the operator runs (`ewb user unlock`).
CLI_ACTOR = "cli"


class AdminError(Exception):
    """A problem the operator can fix; printed without a traceback, exit status 1."""


@asynccontextmanager
async def services_for(settings: Settings) -> AsyncIterator[Services]:
    """Services for one command, on a migrated database; closed afterwards."""
    await require_migrated(settings)
    services = build_services(settings)
    try:
        yield services
    finally:
        await services.store.close()


async def require_migrated(settings: Settings) -> None:
    engine = create_engine(settings.db_url)
    try:
        current, head = await migrate.status(engine)
    finally:
        await engine.dispose()
    if current != head:
        raise AdminError(
            f"the database is at schema revision {current or 'none'}, this code needs {head}:"
            " run `ewb db upgrade`"
        )


async def db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.db_url)
    try:
        await migrate.upgrade(engine)
        current, _ = await migrate.status(engine)
    finally:
        await engine.dispose()
    print(f"database {settings.public()['database_url']} is at schema revision {current}")
    return 0


async def db_status(settings: Settings, args: argparse.Namespace) -> int:
    engine = create_engine(settings.db_url)
    try:
        current, head = await migrate.status(engine)
    finally:
        await engine.dispose()
    print(f"database revision: {current or 'none'}; code revision: {head}")
    return 0 if current == head else 1


# The command-line option each field of a new user comes from.
_OPTIONS = {
    "phone": "--phone",
    "org": "--org",
    "areas": "--areas",
    "name": "--full-name",
    "wecom_id": "--wecom-id",
    "username": "NAME",
}


def _user_error(e: DomainError) -> AdminError:
    option = _OPTIONS.get(e.field or "")
    text = f"{option}: {e.message}" if option else e.message
    if e.field == "areas":
        text += " — load areas first with `ewb areas load`"
    return AdminError(text)


async def user_add(settings: Settings, args: argparse.Namespace, password: str) -> int:
    codes = frozenset(c.strip() for c in args.areas.split(",") if c.strip())
    try:
        user = accounts.new_user(
            args.name,
            Role(args.role),
            args.org,
            codes,
            name=args.full_name,
            phone=args.phone,
            wecom_id=args.wecom_id,
        )
    except DomainError as e:
        raise _user_error(e) from e
    async with services_for(settings) as services, services.store.write() as tx:
        try:
            await accounts.add_user(
                tx, services.catalog, user, hash_password(password), services.clock()
            )
        except DomainError as e:
            raise _user_error(e) from e
    print(f"user {args.name} added: {args.role}, {args.org}, areas {', '.join(sorted(codes))}")
    return 0


async def user_password(settings: Settings, args: argparse.Namespace, password: str) -> int:
    async with services_for(settings) as services, services.store.write() as tx:
        if not await tx.users.set_password(args.name, hash_password(password)):
            raise AdminError(f"no user {args.name!r}")
        await tx.throttle.clear(args.name)  # the new password may be tried from anywhere
    print(f"password of {args.name} set")
    return 0


async def user_unlock(settings: Settings, args: argparse.Namespace) -> int:
    """Lift the sign-in throttle of every address of a user (audited, actor `cli`)."""
    async with services_for(settings) as services:
        try:
            cleared = await signin.unlock(services, args.name, CLI_ACTOR)
        except DomainError as e:
            raise AdminError(e.message) from e
    print(f"user {args.name} unlocked: {cleared} address{'' if cleared == 1 else 'es'}")
    return 0


async def demo(settings: Settings, args: argparse.Namespace) -> int:
    async with services_for(settings) as services:
        report = await add_demo_users(services.store, services.clock())
        residents = await add_sample_residents(services, args.residents)
    print("Demo users (password = ewb-<username>):")
    print(f"  {'username':<16}{'password':<22}{'role':<14}{'org':<9}scope")
    for username, role, org, scope, created in report:
        note = "" if created else "  (existed)"
        print(f"  {username:<16}{demo_password(username):<22}{role:<14}{org:<9}{scope}{note}")
    if residents is None:
        print("Sample residents: the database already holds residents; none added.")
    else:
        print(f"Sample residents: {residents.inserted:,} generated (not real people) and imported.")
    return 0


async def audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    async with services_for(settings) as services, services.store.read() as tx:
        head = await tx.audit.head()
        entries = [entry async for entry in tx.audit.all_entries()]
    broken = audit.verify(entries, head)
    if broken:
        print(f"audit chain BROKEN at entry {broken.seq}: {broken.reason}", file=sys.stderr)
        return 1
    if head is None:  # deleted: nothing then tells whether entries were cut from the end
        print(
            f"audit chain BROKEN: its head row (audit_head) is missing; the {len(entries)}"
            " entries link up, but entries deleted from the end would not show",
            file=sys.stderr,
        )
        return 1
    print(f"audit chain intact: {len(entries)} entries, head {head[1][:16]}…")
    return 0


async def cap_export(settings: Settings, args: argparse.Namespace) -> int:
    async with services_for(settings) as services, services.store.read() as tx:
        try:
            warning = (await tx.warnings.get(args.warning_id)).warning
            document = cap.to_cap(warning, warning.version(args.version), await tx.rules())
        except DomainError as e:
            raise AdminError(e.message) from e
    if args.output:
        args.output.write_bytes(document)
    else:
        sys.stdout.buffer.write(document + b"\n")
    return 0


async def _importer(services: Services, username: str | None) -> Actor:
    if username is None:
        area = services.settings.issuer_area
        return Actor(username=CAP_FEED, role=Role.FORECASTER, org="county", areas=frozenset({area}))
    async with services.store.read() as tx:
        user = await tx.users.by_username(username)
    if user is None:
        raise AdminError(f"no user {username!r}")
    return user.actor


async def cap_import(settings: Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise AdminError(f"{path}: no such file")
    async with services_for(settings) as services:
        document = path.read_bytes()
        try:
            services.validate_cap(document)
            raw = cap.read_alert(document, services.catalog)
        except (CapSchemaError, DomainError) as e:
            raise AdminError(f"{path}: {e}") from e
        who = await _importer(services, args.as_user)
        try:
            warning, _ = await unit_of_work.create(
                services.store, raw, now=services.clock(), actor=who, action="cap_import"
            )
        except DomainError as e:
            rule = f" [{e.rule}]" if isinstance(e, PermissionDenied) else ""
            field = f" ({e.field})" if e.field else ""
            raise AdminError(f"{path}: refused{rule}{field}: {e.message}") from e
    print(
        f"imported {path} as draft warning {warning.id} "
        f"({warning.latest.hazard} {warning.latest.grade.value}), author {who.username}"
    )
    return 0


async def show_settings(settings: Settings, args: argparse.Namespace) -> int:
    print(json.dumps(settings.public(), indent=2, ensure_ascii=False))
    return 0
