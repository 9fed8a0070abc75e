"""Urgency lanes: loudspeakers and officers never wait behind a resident fan-out.

Every batch and every due retry belongs to one lane, named after what it carries:

- `broadcast`: the loudspeaker terminals (one EBD package per EBM);
- `officer`: the disaster information officers, their reminders, the duty chiefs and the
  relay requests (WeCom or SMS);
- `resident`: the residents' SMS and WeChat. A resident batch holds both channels and sends
  them side by side, each at its own provider's pace (delivery/ratelimit.py), so the
  residents' two channels share one lane.

Each lane has its own slots in the embedded runner (`runner_urgent_batches` for the two
urgent lanes, `runner_batches` for residents) and its own claim, so a county-wide fan-out
can hold every resident slot and an all-clear still goes to the loudspeakers at once.

In the distributed mode each lane has its own Celery queue (`ewb.broadcast`, `ewb.officer`,
`ewb.resident`; planning goes with the broadcast lane). `ewb worker` consumes all three by
default; `--lanes broadcast,officer` makes a worker that only ever does urgent work. Redis
takes the task messages by priority step first and queue second, so the steps are banded
per lane (`queue_priority`): broadcast 0, officer 1, residents 2 … 9. A worker busy with a
resident batch yields it between chunks when urgent work has waited `preempt_grace_seconds`
(delivery/batch.py), so even one worker with one process answers an urgent warning in
about a chunk's time.
"""

from __future__ import annotations

from collections.abc import Sequence

BROADCAST, OFFICER, RESIDENT = "broadcast", "officer", "resident"
LANES: tuple[str, ...] = (BROADCAST, OFFICER, RESIDENT)  # most urgent first
URGENT: tuple[str, ...] = (BROADCAST, OFFICER)

# recipient_kind → lane; officers' reminders, chiefs' notices and relay requests ("gap")
# are all messages to the people who relay warnings.
_KINDS = {BROADCAST: ("terminal",), RESIDENT: ("resident",)}
OFFICER_KINDS = ("officer", "chief", "gap")
_KINDS[OFFICER] = OFFICER_KINDS


def kinds(lane: str) -> Sequence[str]:
    """The recipient kinds whose deliveries travel in this lane."""
    return _KINDS[lane]


def urgent_kinds(among: Sequence[str] = URGENT) -> list[str]:
    """The recipient kinds of the urgent lanes (loudspeakers, officers), or of those
    `among` these lanes."""
    return [kind for lane in URGENT if lane in among for kind in kinds(lane)]


def lane_of(recipient_kind: str) -> str:
    for lane, members in _KINDS.items():
        if recipient_kind in members:
            return lane
    return OFFICER  # a kind added later is a relay rather than a resident: err on urgent


def queue_name(lane: str) -> str:
    return f"ewb.{lane}"


def parse_lanes(text: str) -> tuple[str, ...]:
    """`broadcast,officer` → the lanes in urgency order; ValueError names a wrong one."""
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in LANES]
    if unknown or not wanted:
        raise ValueError(
            f"unknown lane {', '.join(unknown) or '(none given)'}; lanes are {', '.join(LANES)}"
        )
    return tuple(lane for lane in LANES if lane in wanted)


def queue_priority(lane: str, priority: int) -> int:
    """A batch's Redis priority step (0 is taken first): broadcast 0, officer 1, then the
    residents by grade, an update or all-clear before a first warning of the same grade:
    red changes 2, red 3, orange changes 4 … blue 9."""
    if lane == BROADCAST:
        return 0
    if lane == OFFICER:
        return 1
    grade, rest = divmod(priority, 10)
    level = (min(max(grade, 1), 4) - 1) * 2 + (1 if rest >= CHANGE else 0)  # 0 … 7
    return 9 - level


def due_priority(lane: str) -> int:
    """The step of a lane's due retries and fallbacks: ahead of its new batches."""
    return {BROADCAST: 0, OFFICER: 1}.get(lane, 2)


# Within a lane, a batch's priority: grade rank × 10, + CHANGE for an update or all-clear
# (it corrects what people already heard), + RELAY for officers and terminals.
CHANGE = 5
RELAY = 1
