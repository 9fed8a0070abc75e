"""JSON responses with Chinese text left readable (UTF-8, not \\u escapes)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)
