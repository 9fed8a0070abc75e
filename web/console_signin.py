"""Console sign-in and sign-out, and /console sending each role to its first page."""

from __future__ import annotations

from aiohttp import web

from warning.actors import Role
from web.errors import HttpError
from web.json_body import same_secret
from web.keys import services
from web.pages import form, page, render, signed_in
from web.passwords import new_token, token_hash
from web.session import (
    COOKIE,
    LOGIN_COOKIE,
    is_secure,
    new_login_nonce,
    session_token,
    set_cookie,
)
from web.signin import authenticate, open_session

routes = web.RouteTableDef()

HOME = {
    Role.FORECASTER: "/console/warnings",
    Role.DUTY_CHIEF: "/console/approvals",
    Role.LEADER: "/console/approvals",
    Role.INFO_OFFICER: "/console/officer",
    Role.ADMIN: "/console/admin",
}


def _safe_next(value: str | None) -> str:
    """Only a path on this site (never //host or a scheme) is followed after sign-in."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console"


async def _login_page(
    request: web.Request, *, error: str | None = None, username: str = "", status: int = 200
) -> web.Response:
    nonce = new_login_nonce()
    response = await render(
        request,
        "login.html.j2",
        {
            "error": error,
            "username": username,
            "next": _safe_next(request.query.get("next")),
            "login_csrf": nonce,
        },
        status=status,
    )
    set_cookie(response, LOGIN_COOKIE, nonce, secure=is_secure(request))
    return response


@routes.get("/console/login")
async def login_form(request: web.Request) -> web.Response:
    return await _login_page(request)


@routes.post("/console/login")
async def login(request: web.Request) -> web.StreamResponse:
    fields = await form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not same_secret(fields.get("csrf", ""), expected):
        raise HttpError(403, "csrf", "the sign-in form is stale; reload it and try again")
    username, password = fields.get("username", ""), fields.get("password", "")
    if not username or not password:
        return await _login_page(
            request, error="请输入用户名和密码 Enter username and password", status=422
        )
    svc = services(request)
    try:
        user = await authenticate(svc, username, password, request.remote or "")
    except HttpError as e:
        text = (
            "用户名或密码错误 Wrong username or password"
            if e.status == 401
            else f"尝试次数过多 {e.message}"
        )
        return await _login_page(request, error=text, username=username, status=e.status)
    token = new_token()
    await open_session(svc, user, token_hash(token), svc.settings.session_ttl_hours)
    response = web.HTTPSeeOther(_safe_next(fields.get("next")))
    set_cookie(response, COOKIE, token, secure=is_secure(request))
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


@routes.post("/console/logout")
@page()
async def logout(request: web.Request) -> web.StreamResponse:
    token = session_token(request)
    if token:
        async with services(request).store.write() as tx:
            await tx.users.drop_token(token_hash(token))
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(COOKIE, path="/")
    raise response


@routes.get("/console")
@page()
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(HOME[signed_in(request).actor.role])
