"""Reading request bodies and query parameters, with 400/422 errors that name the field."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from web.errors import HttpError

MAX_ID = 2**31 - 1  # the largest id the databases store (INTEGER), and of any number asked


def same_secret(given: str, expected: str) -> bool:
    """A constant-time comparison of a posted token with the expected one; any text is
    compared (hmac.compare_digest refuses a str with non-ASCII characters)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


async def posted(request: web.Request) -> MultiDictProxy[str | web.FileField]:
    """The posted form, or 400 when it cannot be read (not UTF-8, an unknown charset, a
    broken multipart body)."""
    try:
        return await request.post()
    except (ValueError, LookupError) as e:
        raise HttpError(400, "bad_request", f"the form cannot be read ({e})") from None


def parse_json(raw: bytes | str) -> Any:
    """JSON text as Python values, or ValueError: not JSON, not UTF-8, nested too deep for
    the parser, or holding a lone surrogate (no database stores one as text)."""
    try:
        value = json.loads(raw)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError("nested too deep") from None
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate") from None
    return value


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or 400."""
    try:
        body = parse_json(await request.read())
    except ValueError as e:
        raise HttpError(400, "bad_request", f"the body is not valid JSON ({e})") from None
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
    if not re.fullmatch(r"-?[0-9]{1,12}", raw):
        raise HttpError(422, "invalid", f"{name} must be an integer", name)
    value = int(raw)
    high = MAX_ID if high is None else min(high, MAX_ID)
    if not low <= value <= high:
        bound = f"between {low} and {high}"
        raise HttpError(422, "invalid", f"{name} must be {bound}", name)
    return value


def whole_number(text: str | None) -> int | None:
    """ASCII digits up to MAX_ID as an int, else None ("²".isdigit() is true, int("²") fails)."""
    if text is None or not re.fullmatch(r"[0-9]{1,12}", text) or int(text) > MAX_ID:
        return None
    return int(text)


def path_id(request: web.Request, name: str = "id") -> int:
    """An integer id from the URL path, or 404."""
    value = whole_number(request.match_info[name])
    if value is None:
        raise HttpError(404, "not_found", f"{name} must be a whole number up to {MAX_ID}")
    return value
