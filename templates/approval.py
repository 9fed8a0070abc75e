"""What an approver approves: every message that would go out, by its digest.

An approval stores the SHA-256 of the rendered messages (every channel, locale and group,
as the preview shows them). Issuing is refused when the messages rendered now differ
from those approved, e.g. because the hazard catalog or a template changed meanwhile;
an approver who looked at a page that is no longer current is refused too.

The digest renders at a fixed moment (the onset), so the issue time printed in the
messages does not change it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from templates.preview import blocking, preview
from templates.render import Options
from warning import commands, wording
from warning.actors import Actor
from warning.errors import InvalidTransition
from warning.events import Event
from warning.model import Version, Warning
from warning.rules import Rules


def rendering_digest(warning: Warning, version: Version, rules: Rules, options: Options) -> str:
    """SHA-256 over the messages of `version` as they would be sent."""
    messages = preview(warning, version, rules, version.onset, options)
    canonical = json.dumps(
        [[m.channel, m.locale, list(m.groups), m.title, m.text, m.sent] for m in messages],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def approve_checked(
    options: Options, *, seen: str | None = None, chinese_only: bool = False
) -> Any:
    """The approve command, refused while a message breaks a channel limit or when the
    messages differ from the `seen` digest (the approver's page is out of date)."""

    def decide(w: Warning, a: Actor, r: Rules, n: datetime) -> list[Event]:
        wording.refollow(w.latest, r)  # the catalog texts of the current hazard and grade
        current = rendering_digest(w, w.latest, r, options)
        if seen is not None and seen != current:
            raise InvalidTransition(
                "the messages have changed since your page showed them: look at them again"
                " before approving"
            )
        events = commands.approve(w, a, r, n, rendering=current, chinese_only=chinese_only)
        problems = blocking(preview(w, w.latest, r, n, options))
        if problems:
            raise InvalidTransition("the messages break channel limits: " + "; ".join(problems))
        return events

    return decide


def issue_checked(options: Options) -> Any:
    """The issue command, refused if the messages changed since they were approved."""

    def decide(w: Warning, a: Actor, r: Rules, n: datetime, sequence: int) -> list[Event]:
        current = rendering_digest(w, w.latest, r, options)
        return commands.issue(w, a, r, n, sequence, rendering=current)

    return decide


def release_checked(options: Options) -> Any:
    """The scheduler's release at onset, dropped if the messages changed since approval."""

    def decide(w: Warning, _a: Actor, r: Rules, n: datetime, sequence: int) -> list[Event]:
        current = rendering_digest(w, w.latest, r, options)
        return commands.release_due(w, r, n, sequence, rendering=current)

    return decide
