"""Residents over HTTP: search, read, create, change, delete, and bulk import (multipart)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import BodyPartReader, MultipartReader, web

from store.db import Tx
from store.residents import StoredResident
from store.unit_of_work import audit_refusal
from subscribers import access, importer, phones
from subscribers.residents import (
    CSV_COLUMNS,
    OPTIONAL_COLUMNS,
    BadResident,
    Known,
    Resident,
    known_from,
    parse,
)
from warning.actors import Actor
from warning.errors import DomainError, InvalidInput, NotFound
from warning.grades import Grade, parse_grade
from web.errors import HttpError
from web.json_body import int_param, json_object, path_id
from web.keys import actor, services
from web.responses import json_response
from web.serialize import iso

routes = web.RouteTableDef()
MAX_LISTED_ERRORS = 1000
T = TypeVar("T")

_LIST_FIELDS = ("groups", "channels")
_FIELDS = (*CSV_COLUMNS, *OPTIONAL_COLUMNS, "hazard_grades")


def resident_json(stored: StoredResident, tz: Any, *, whole: bool) -> dict[str, Any]:
    r = stored.resident
    return {
        "id": stored.id,
        "external_id": r.external_id,
        "name": r.name,
        "phone": r.phone if whole else phones.mask(r.phone),
        "wechat_openid": r.wechat_openid if whole else phones.mask_id(r.wechat_openid),
        "locale": r.locale,
        "area_code": r.area_code,
        "groups": list(r.groups),
        "channels": list(r.channels),
        "min_grade": r.min_grade.value,
        "hazard_grades": {h: g.value for h, g in stored.hazard_grades.items()},
        "test_recipient": r.test_recipient,
        "consent_at": iso(r.consent_at, tz),
        "unsubscribed": {c: iso(at, tz) for c, at in stored.opted_out.items()},
        "created_at": iso(stored.created_at, tz),
        "updated_at": iso(stored.updated_at, tz),
    }


def _as_text(body: dict[str, Any]) -> dict[str, str]:
    """JSON fields in the CSV's text form, so one parser checks both."""
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    text: dict[str, str] = {}
    for name, value in body.items():
        if name == "hazard_grades":
            continue
        if name in _LIST_FIELDS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidInput(f"{name} must be a list of strings", field=name)
            text[name] = ";".join(value)
        elif name == "test_recipient":
            if not isinstance(value, bool):
                raise InvalidInput("test_recipient must be true or false", field=name)
            text[name] = "1" if value else "0"
        elif value is None:
            text[name] = ""
        elif isinstance(value, str):
            text[name] = value
        else:
            raise InvalidInput(f"{name} must be a string", field=name)
    return text


def _hazard_grades(body: dict[str, Any], hazards: Any) -> dict[str, Grade | None]:
    value = body.get("hazard_grades", {})
    if not isinstance(value, dict):
        raise InvalidInput("hazard_grades must map hazards to grades", field="hazard_grades")
    grades: dict[str, Grade | None] = {}
    for hazard, grade in value.items():
        if hazard not in hazards:
            raise InvalidInput(f"unknown hazard {hazard!r}", field="hazard_grades")
        parsed = None if grade is None else parse_grade(grade)
        if grade is not None and parsed is None:
            raise InvalidInput(
                f"{hazard}: grade must be blue, yellow, orange, red or null", field="hazard_grades"
            )
        grades[hazard] = parsed
    return grades


def _resident(text: dict[str, str], known: Known) -> Resident:
    try:
        return parse(text, known)
    except BadResident as e:
        raise InvalidInput(str(e), field=e.field) from None


async def _known(tx: Tx, catalog: Any) -> tuple[Known, Any]:
    tree = await tx.areas.tree()
    return known_from(tree, catalog.groups), tree


async def _audited(
    request: web.Request,
    action: str,
    work: Callable[[Actor], Awaitable[T]],
) -> T:
    """Run a resident command; audit it (refusals too). Details never hold numbers."""
    svc, who = services(request), actor(request)
    try:
        return await work(who)
    except DomainError as e:
        await audit_refusal(
            svc.store,
            now=svc.clock(),
            actor=who.username,
            action=action,
            warning_id=None,
            version=None,
            error=e,
        )
        raise


async def _audit_ok(tx: Tx, request: web.Request, action: str, details: dict[str, Any]) -> None:
    await tx.audit.append(
        at=services(request).clock(),
        actor=actor(request).username,
        action=action,
        warning_id=None,
        version=None,
        outcome="ok",
        details=details,
    )


@routes.get("/api/v1/residents")
async def index(request: web.Request) -> web.Response:
    svc = services(request)
    area = request.query.get("area") or None
    group = request.query.get("group") or None
    suffix = request.query.get("phone_suffix") or None
    if suffix is not None and not (suffix.isdigit() and 4 <= len(suffix) <= 11):
        raise HttpError(422, "invalid", "phone_suffix must be 4 to 11 digits", "phone_suffix")
    limit = int_param(request, "limit", default=50, low=1, high=500)
    offset = int_param(request, "offset", default=0, low=0)
    assert limit is not None and offset is not None

    async def work(who: Actor) -> web.Response:
        access.require(who, access.VIEW, "list residents")
        async with svc.store.read() as tx:
            tree = await tx.areas.tree()
            if area is not None:
                if area not in tree:
                    raise InvalidInput(f"unknown area {area}", field="area")
                access.require_areas(who, [area], tree)
            found, total = await tx.residents.search(
                scope=who.areas,
                area=area,
                group=group,
                phone_suffix=suffix,
                limit=limit,
                offset=offset,
            )
        tz = svc.settings.tz
        return json_response(
            {
                "total": total,
                "limit": limit,
                "offset": offset,
                "residents": [resident_json(r, tz, whole=False) for r in found],
            }
        )

    return await _audited(request, "residents.list", work)


async def _scoped(tx: Tx, who: Actor, resident_id: int) -> StoredResident:
    stored = await tx.residents.get(resident_id)
    if stored is None:
        raise NotFound(f"no resident {resident_id}")
    access.require_areas(who, [stored.resident.area_code], await tx.areas.tree())
    return stored


@routes.get("/api/v1/residents/{id}")
async def show(request: web.Request) -> web.Response:
    svc, resident_id = services(request), path_id(request)

    async def work(who: Actor) -> web.Response:
        access.require(who, access.VIEW, "see residents")
        async with svc.store.read() as tx:
            stored = await _scoped(tx, who, resident_id)
        return json_response(
            resident_json(stored, svc.settings.tz, whole=access.sees_whole_numbers(who))
        )

    return await _audited(request, "residents.show", work)


@routes.post("/api/v1/residents")
async def create(request: web.Request) -> web.Response:
    svc, body = services(request), await json_object(request)

    async def work(who: Actor) -> web.Response:
        access.require(who, access.EDIT, "add residents")
        async with svc.store.write() as tx:
            known, tree = await _known(tx, svc.catalog)
            resident = _resident(_as_text(body), known)
            grades = _hazard_grades(body, svc.catalog.hazards)
            access.require_areas(who, [resident.area_code], tree)
            resident_id = await tx.residents.add(resident, svc.clock())
            if resident_id is None:
                raise InvalidInput(
                    f"external_id {resident.external_id} exists already", field="external_id"
                )
            await tx.residents.set_hazard_grades(resident_id, grades)
            await _audit_ok(tx, request, "residents.create", {"resident_id": resident_id})
            stored = await tx.residents.get(resident_id)
        assert stored is not None
        return json_response(resident_json(stored, svc.settings.tz, whole=False), status=201)

    return await _audited(request, "residents.create", work)


def _text_of(r: Resident) -> dict[str, str]:
    return {
        "external_id": r.external_id,
        "name": r.name,
        "phone": r.phone or "",
        "wechat_openid": r.wechat_openid or "",
        "locale": r.locale,
        "area_code": r.area_code,
        "groups": ";".join(r.groups),
        "channels": ";".join(r.channels),
        "min_grade": r.min_grade.value,
        "test_recipient": "1" if r.test_recipient else "0",
        "consent_at": r.consent_at.isoformat() if r.consent_at else "",
    }


@routes.patch("/api/v1/residents/{id}")
async def change(request: web.Request) -> web.Response:
    svc, resident_id, body = services(request), path_id(request), await json_object(request)

    async def work(who: Actor) -> web.Response:
        access.require(who, access.EDIT, "change residents")
        async with svc.store.write() as tx:
            stored = await _scoped(tx, who, resident_id)
            known, tree = await _known(tx, svc.catalog)
            changes = _as_text(body)
            if (
                changes.get("external_id", stored.resident.external_id)
                != stored.resident.external_id
            ):
                raise InvalidInput("external_id cannot change", field="external_id")
            resident = _resident({**_text_of(stored.resident), **changes}, known)
            access.require_areas(who, [resident.area_code], tree)
            await tx.residents.replace(resident_id, resident, svc.clock())
            await tx.residents.set_hazard_grades(
                resident_id, _hazard_grades(body, svc.catalog.hazards)
            )
            await _audit_ok(
                tx,
                request,
                "residents.update",
                {"resident_id": resident_id, "fields": sorted(body)},
            )
            updated = await tx.residents.get(resident_id)
        assert updated is not None
        return json_response(resident_json(updated, svc.settings.tz, whole=False))

    return await _audited(request, "residents.update", work)


@routes.delete("/api/v1/residents/{id}")
async def remove(request: web.Request) -> web.Response:
    svc, resident_id = services(request), path_id(request)

    async def work(who: Actor) -> web.Response:
        access.require(who, access.EDIT, "delete residents")
        async with svc.store.write() as tx:
            await _scoped(tx, who, resident_id)
            await tx.residents.remove(resident_id)
            await _audit_ok(tx, request, "residents.delete", {"resident_id": resident_id})
        return web.Response(status=204)

    return await _audited(request, "residents.delete", work)


async def file_chunks(reader: MultipartReader) -> AsyncIterator[bytes]:
    """The bytes of the next multipart field `file`, chunk by chunk."""
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == "file":
            while chunk := await part.read_chunk(1 << 16):
                yield chunk
            return
    raise HttpError(400, "bad_request", "no multipart field named 'file'", "file")


async def _upload(request: web.Request) -> AsyncIterator[bytes]:
    """The bytes of the multipart field `file`, chunk by chunk."""
    if not request.content_type.startswith("multipart/"):
        raise HttpError(400, "bad_request", "send the CSV as multipart/form-data field 'file'")
    async for chunk in file_chunks(await request.multipart()):
        yield chunk


async def import_upload(
    request: web.Request, chunks: AsyncIterator[bytes]
) -> importer.ImportReport:
    """Import an uploaded residents CSV as the request's actor (admins only), audited:
    the API's import and the admin console's."""
    svc = services(request)

    async def work(who: Actor) -> importer.ImportReport:
        access.require(who, access.IMPORT, "import residents")
        known = await importer.known_for(svc.store, svc.catalog)
        try:
            report = await importer.import_residents(
                chunks, known, importer.StoreWriter(svc.store, svc.clock())
            )
        except importer.BadFile as e:
            raise InvalidInput(str(e), field="file") from None
        async with svc.store.write() as tx:
            await _audit_ok(
                tx,
                request,
                "residents.import",
                {
                    "rows": report.rows,
                    "inserted": report.inserted,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "refused": report.refused,
                },
            )
        return report

    return await _audited(request, "residents.import", work)


@routes.post("/api/v1/residents/import")
async def import_csv(request: web.Request) -> web.Response:
    report = await import_upload(request, _upload(request))
    return json_response(
        {
            "rows": report.rows,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "refused": report.refused,
            "errors": [
                {
                    "line": e.line,
                    "external_id": e.external_id,
                    "field": e.field,
                    "reason": e.reason,
                }
                for e in report.errors[:MAX_LISTED_ERRORS]
            ],
            "errors_truncated": report.refused > MAX_LISTED_ERRORS,
        }
    )
