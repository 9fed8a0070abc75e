"""Provider callbacks for the broadcast channel (filled in by its issue work)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
