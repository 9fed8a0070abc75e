"""Reading request bodies and query parameters, with 400/422 errors that name the field."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from web.errors import HttpError


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or 400."""
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HttpError(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HttpError(400, "bad_request", "the body must be a JSON object")
    return body


def int_param(
    request: web.Request,
    name: str,
    *,
    default: int | None = None,
    low: int = 0,
    high: int | None = None,
) -> int | None:
    """An integer query parameter within [low, high], or 422 naming it."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(422, "invalid", f"{name} must be an integer", name) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise HttpError(422, "invalid", f"{name} must be {bound}", name)
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    """An integer id from the URL path, or 404."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise HttpError(404, "not_found", f"{name} must be an integer") from None
