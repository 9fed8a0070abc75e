"""What an approver sees before approving: every message that would go out, its digest,
and who it would reach. The warning page and the approvals queue show the same review.

The digest goes with the approve button (`digest` field); the approval is refused if the
messages rendered at approval differ from the ones the page showed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from templates import approval, preview
from warning import commands, wording
from warning.actors import Actor
from warning.events import Event
from warning.model import Version, Warning
from warning.rules import Rules
from web.keys import services
from web.people_api import forecast


def may_approve(w: Warning, a: Actor, r: Rules, n: datetime) -> list[Event]:
    """Approve as the approval page offers it: with "send Chinese only" to confirm."""
    return commands.approve(w, a, r, n, chinese_only=True)


async def review(
    request: web.Request, warning: Warning, version: Version, rules: Rules
) -> dict[str, Any]:
    """The messages (every channel, locale and group, SMS parts), limits broken, the
    audience forecast, the digest to approve, and the texts still to be translated."""
    svc = services(request)
    options = preview.from_settings(svc.settings)
    messages = preview.preview(warning, version, rules, svc.clock(), options)
    return {
        "messages": messages,
        "blocking": preview.blocking(messages),
        "audience": await forecast(svc, version, rules),
        "digest": approval.rendering_digest(warning, version, rules, options),
        "translation_pending": wording.translation_pending(version),
    }
