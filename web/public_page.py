"""The public page (`/` and `/public`): the warnings in force, no sign-in, no script.

The same selection as `/public/warnings.json` (actual warnings in force only), in Chinese
or, with `?lang=en`, in English; links to each CAP alert, the Atom feed and the JSON list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from warning.model import Version, Warning
from warning.rules import Rules
from web.keys import services
from web.pages import render
from web.public_api import public_json, warnings_in_force

routes = web.RouteTableDef()

LABELS = {
    "zh-CN": {
        "title": "响水县生效中的预警",
        "intro": "以下是响水县当前生效的突发事件预警信息。",
        "none": "当前没有生效的预警。",
        "updated": "更新时间",
        "warning": "预警",
        "hazard": "灾种",
        "issuer": "发布单位",
        "areas": "影响区域",
        "list_separator": "、",
        "onset": "生效时间",
        "expires": "结束时间",
        "issued": "发布时间",
        "description": "预警内容",
        "instruction": "防御指南",
        "cap": "CAP 文档",
        "feed": "Atom 订阅源（CAP）",
        "json": "JSON 列表",
        "links": "数据与订阅",
        "other": "English",
        "other_lang": "en",
    },
    "en": {
        "title": "Warnings in force in Xiangshui county",
        "intro": "The emergency warnings now in force in Xiangshui county.",
        "none": "No warning is in force now.",
        "updated": "Updated",
        "warning": "warning",
        "hazard": "Hazard",
        "issuer": "Issued by",
        "areas": "Areas",
        "list_separator": ", ",
        "onset": "From",
        "expires": "Until",
        "issued": "Issued",
        "description": "What is expected",
        "instruction": "What to do",
        "cap": "CAP alert",
        "feed": "Atom feed (CAP)",
        "json": "JSON list",
        "links": "Data and feeds",
        "other": "中文",
        "other_lang": "zh-CN",
    },
}


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """A moment as the county reads it: local date and time to the minute."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _card(
    request: web.Request, warning: Warning, version: Version, rules: Rules, lang: str
) -> dict[str, Any]:
    body = public_json(request, warning, version, rules)
    hazard = rules.catalog.hazard(version.hazard)
    tz = services(request).settings.tz
    return {
        "id": body["id"],
        "grade": version.grade.value,
        "grade_word": version.grade.name_zh if lang == "zh-CN" else version.grade.name_en,
        "hazard": hazard.name[lang],
        "issuer": rules.catalog.organisation(hazard.org).name[lang],
        "areas": [area["name" if lang == "zh-CN" else "name_en"] for area in body["areas"]],
        "headline": body["headline"][lang],
        "description": body["description"][lang],
        "instruction": body["instruction"][lang],
        "onset": local_time(version.onset, tz),
        "expires": local_time(version.expires, tz),
        "issued": local_time(version.issued_at, tz),
    }


@routes.get("/")
@routes.get("/public")
async def public(request: web.Request) -> web.Response:
    lang = "en" if request.query.get("lang") == "en" else "zh-CN"
    found, rules = await warnings_in_force(request)
    svc = services(request)
    return await render(
        request,
        "public.html.j2",
        {
            "lang": lang,
            "t": LABELS[lang],
            "warnings": [_card(request, w, v, rules, lang) for w, v in found],
            "updated": local_time(svc.clock(), svc.settings.tz),
        },
    )
