"""Every HTTP error is JSON {"error", "message", "field"?}; domain errors map here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from config.data import CapSchemaError
from warning.errors import (
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from web.responses import json_response

log = logging.getLogger("ewb.web")

STATUS = {InvalidInput: 422, PermissionDenied: 403, InvalidTransition: 409, NotFound: 404}


class HttpError(Exception):
    """An error raised by the web layer itself (bad JSON, missing token, …)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(
    status: int, code: str, message: str, field: str | None = None, **extra: Any
) -> web.Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if field:
        body["field"] = field
    body.update(extra)
    return json_response(body, status=status)


def domain_error_response(error: DomainError) -> web.Response:
    status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
    extra = {"rule": error.rule} if isinstance(error, PermissionDenied) else {}
    return error_response(status, error.code, error.message, error.field, **extra)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as e:
        return error_response(e.status, e.code, e.message, e.field)
    except DomainError as e:
        return domain_error_response(e)
    except CapSchemaError as e:
        return error_response(422, "invalid_cap", f"not a valid CAP 1.2 alert: {e}", "cap")
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            e.status, "http_error"
        )
        return error_response(e.status, code, e.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; the server log has the details")
