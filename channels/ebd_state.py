"""Hearing back from the platform: heartbeats, state requests and state reports (pure).

The bodies (shared/standards/emergency_broadcast_ebd.md §4), built and read here:

- `ConnectionCheck` {RptTime}: the heartbeat. Its EBDID has 类型码 01 and an all-zero
  sequence; it is not signed (receivers skip the check for it).
- `EBMStateRequest` {EBM/EBMID}: ewb asks for an EBM's state.
- `EBMStateResponse` {RptTime, EBM/EBMID, BrdStateCode, BrdStateDesc, Coverage?
  {CoverageRate, AreaCode, ResBrdStat}, ResBrdInfo?/ResBrdItem*}: pushed after receipt and
  in answer to a request. BrdStateCode 0 未处理, 1 等待播发, 2 播发中, 3 播发成功, 4 播发失败,
  5 播发取消. Each ResBrdItem names a resource (EBRPS, EBRST, EBRAS or EBRBS, each with an
  EBRID) and may carry its own BrdStateCode.
- `EBRDTState` {EBRDT*: RptTime, EBRID, StateCode, StateDesc}: terminal states. StateCode
  1 running, 2 off, 3 fault, 4 recovered, 5 broadcasting.

Chosen where the reference is open: a ResBrdItem's own BrdStateCode is the state at that
resource (a terminal, when its EBRID is a terminal's); without one, the EBM's state holds
for every resource. CoverageRate is read as a share in 0…1, or a percentage when above 1.
State bodies that list the resources directly (without the EBRDT wrapper, as one 2016
implementation writes) are read too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from lxml import etree

from channels.ebd import (
    AREA_RE,
    BEIJING,
    EBMID_RE,
    EBRID_RE,
    TIME_FORMAT,
    XML_PARSER,
    Ebd,
    EbdIncomplete,
    _check_ebrid,
    _envelope,
    _format,
    _sub,
    _tar,
    ebd_id,
)

if TYPE_CHECKING:
    from channels.ebd_sign import Signer

PENDING, WAITING, PLAYING, PLAYED, FAILED, CANCELLED = range(6)  # BrdStateCode
FINAL = frozenset({PLAYED, FAILED, CANCELLED})
BRD_STATE_TEXT = {
    PENDING: "未处理",
    WAITING: "等待播发",
    PLAYING: "播发中",
    PLAYED: "播发成功",
    FAILED: "播发失败",
    CANCELLED: "播发取消",
}
RUNNING, OFF, FAULT, RECOVERED, BROADCASTING = 1, 2, 3, 4, 5  # StateCode of a device
ONLINE_STATES = frozenset({RUNNING, RECOVERED, BROADCASTING})
RESOURCE_TAGS = ("EBRBS", "EBRAS", "EBRST", "EBRPS")


@dataclass(frozen=True)
class ResourceState:
    """One resource's line in a state report: its EBRID and, if given, its own state."""

    ebrid: str
    code: int | None


@dataclass(frozen=True)
class BroadcastState:
    """An EBMStateResponse: where an EBM stands at the platform."""

    ebm_id: str
    code: int
    desc: str
    reported: datetime | None
    coverage_rate: float | None  # 0…1
    coverage_areas: tuple[str, ...]
    resources: tuple[ResourceState, ...]

    @property
    def final(self) -> bool:
        return self.code in FINAL

    def state_at(self, ebrid: str) -> int:
        """The state at one resource: its own line's, else the EBM's."""
        for resource in self.resources:
            if resource.ebrid == ebrid and resource.code is not None:
                return resource.code
        return self.code


@dataclass(frozen=True)
class DeviceState:
    """One line of an EBRDTState report: a terminal (or other device) and its state."""

    ebrid: str
    code: int
    desc: str
    reported: datetime | None

    @property
    def online(self) -> bool:
        return self.code in ONLINE_STATES


def heartbeat_id(source_ebrid: str) -> str:
    """A ConnectionCheck's EBDID: 类型码 01, the sender's EBRID, sixteen zeros."""
    _check_ebrid(source_ebrid, "source EBRID")
    return f"01{source_ebrid}{0:016d}"


def build_connection_check(
    *, source_ebrid: str, dest_ebrid: str, created: datetime
) -> tuple[str, bytes]:
    """The heartbeat package (never signed)."""
    _check_ebrid(dest_ebrid, "destination EBRID")
    package_id = heartbeat_id(source_ebrid)
    root = _envelope(package_id, "ConnectionCheck", source_ebrid, dest_ebrid, created)
    _sub(_sub(root, "ConnectionCheck"), "RptTime", _format(created))
    return _tar(package_id, root, {}, created)


def build_state_request(
    *,
    ebm_id: str,
    source_ebrid: str,
    dest_ebrid: str,
    sequence: int,
    created: datetime,
    signer: Signer | None = None,
) -> tuple[str, bytes]:
    """An EBMStateRequest asking for `ebm_id`'s state."""
    _check_ebrid(dest_ebrid, "destination EBRID")
    if not EBMID_RE.fullmatch(ebm_id):
        raise ValueError(f"EBMID {ebm_id!r} is not 35 digits")
    package_id = ebd_id(source_ebrid, sequence)
    root = _envelope(package_id, "EBMStateRequest", source_ebrid, dest_ebrid, created)
    _sub(_sub(_sub(root, "EBMStateRequest"), "EBM"), "EBMID", ebm_id)
    return _tar(package_id, root, {}, created, signer=signer)


def build_state_response(
    *,
    ebm_id: str,
    code: int,
    source_ebrid: str,
    dest_ebrid: str,
    sequence: int,
    created: datetime,
    related_ebd_id: str | None = None,
    coverage_rate: float | None = None,
    coverage_areas: Sequence[str] = (),
    resources: Sequence[ResourceState] = (),
    signer: Signer | None = None,
) -> tuple[str, bytes]:
    """An EBMStateResponse (the simulator's, and tests')."""
    if code not in BRD_STATE_TEXT:
        raise ValueError(f"BrdStateCode {code} is not 0…5")
    package_id = ebd_id(source_ebrid, sequence)
    root = _envelope(package_id, "EBMStateResponse", source_ebrid, dest_ebrid, created)
    if related_ebd_id:
        _sub(_sub(root, "RelatedEBD"), "EBDID", related_ebd_id)
    body = _sub(root, "EBMStateResponse")
    _sub(body, "RptTime", _format(created))
    _sub(_sub(body, "EBM"), "EBMID", ebm_id)
    _sub(body, "BrdStateCode", str(code))
    _sub(body, "BrdStateDesc", BRD_STATE_TEXT[code])
    if coverage_rate is not None:
        coverage = _sub(body, "Coverage")
        _sub(coverage, "CoverageRate", f"{coverage_rate:.4f}")
        _sub(coverage, "AreaCode", ",".join(coverage_areas))
        _sub(coverage, "ResBrdStat", f"1,0,0,{len(resources)}")
    if resources:
        info = _sub(body, "ResBrdInfo")
        for resource in resources:
            item = _sub(info, "ResBrdItem")
            bs = _sub(item, "EBRBS")
            _sub(bs, "RptTime", _format(created))
            _sub(bs, "EBRID", resource.ebrid)
            if resource.code is not None:
                _sub(bs, "BrdStateCode", str(resource.code))
    return _tar(package_id, root, {}, created, signer=signer)


def build_device_states(
    *,
    states: Sequence[tuple[str, int]],
    source_ebrid: str,
    dest_ebrid: str,
    sequence: int,
    created: datetime,
    signer: Signer | None = None,
) -> tuple[str, bytes]:
    """An EBRDTState report of (terminal EBRID, StateCode) lines (the simulator's)."""
    package_id = ebd_id(source_ebrid, sequence)
    root = _envelope(package_id, "EBRDTState", source_ebrid, dest_ebrid, created)
    body = _sub(root, "EBRDTState")
    for ebrid, code in states:
        _check_ebrid(ebrid, "terminal EBRID")
        line = _sub(body, "EBRDT")
        _sub(line, "RptTime", _format(created))
        _sub(line, "EBRID", ebrid)
        _sub(line, "StateCode", str(code))
        _sub(
            line,
            "StateDesc",
            {1: "运行正常", 2: "停止", 3: "故障", 4: "故障恢复"}.get(code, "播发中"),
        )
    return _tar(package_id, root, {}, created, signer=signer)


def requested_ebm(parsed: Ebd) -> str:
    """The EBMID an EBMStateRequest asks about."""
    return _matching(_body(parsed, "EBMStateRequest"), "EBM/EBMID", EBMID_RE, "35 digits")


def broadcast_state(parsed: Ebd) -> BroadcastState:
    """What an EBMStateResponse says; EbdIncomplete if it cannot be used."""
    body = _body(parsed, "EBMStateResponse")
    ebm_id = _matching(body, "EBM/EBMID", EBMID_RE, "35 digits")
    code = _code(body, "BrdStateCode", range(6))
    if code is None:
        raise EbdIncomplete("BrdStateCode is missing")
    rate: float | None = None
    areas: tuple[str, ...] = ()
    coverage = body.find("Coverage")
    if coverage is not None:
        rate = _rate(coverage.findtext("CoverageRate"))
        listed = (coverage.findtext("AreaCode") or "").split(",")
        areas = tuple(code.strip() for code in listed if code.strip())
        bad = [code for code in areas if not AREA_RE.fullmatch(code)]
        if bad:
            raise EbdIncomplete(f"Coverage/AreaCode {bad[0]!r} is not a 12-digit area code")
    resources = []
    for item in body.iterfind("ResBrdInfo/ResBrdItem"):
        for tag in RESOURCE_TAGS:
            resource = item.find(tag)
            if resource is not None:
                ebrid = _matching(resource, "EBRID", EBRID_RE, "23 digits")
                resources.append(ResourceState(ebrid, _code(resource, "BrdStateCode", range(6))))
    return BroadcastState(
        ebm_id=ebm_id,
        code=code,
        desc=(body.findtext("BrdStateDesc") or "").strip(),
        reported=_when(body, "RptTime"),
        coverage_rate=rate,
        coverage_areas=areas,
        resources=tuple(resources),
    )


def device_states(parsed: Ebd) -> list[DeviceState]:
    """The lines of an EBRDTState report (with or without the EBRDT wrapper)."""
    body = _body(parsed, "EBRDTState")
    lines = list(body.iterfind("EBRDT")) or [body]
    states = []
    for line in lines:
        ebrid = _matching(line, "EBRID", EBRID_RE, "23 digits")
        code = _code(line, "StateCode", range(1, 6))
        if code is None:
            raise EbdIncomplete(f"StateCode of {ebrid} is missing")
        states.append(
            DeviceState(
                ebrid, code, (line.findtext("StateDesc") or "").strip(), _when(line, "RptTime")
            )
        )
    return states


def _body(parsed: Ebd, kind: str) -> etree._Element:
    if parsed.ebd_type != kind:
        raise EbdIncomplete(f"the package is an {parsed.ebd_type}, not an {kind}")
    body = etree.fromstring(parsed.ebdb, XML_PARSER).find(kind)
    if body is None:
        raise EbdIncomplete(f"{kind} is missing")
    return body


def _matching(parent: etree._Element, path: str, pattern: re.Pattern[str], what: str) -> str:
    text = (parent.findtext(path) or "").strip()
    if not text or not pattern.fullmatch(text):
        raise EbdIncomplete(f"{path} {text!r} is not {what}")
    return text


def _code(parent: etree._Element, path: str, allowed: range) -> int | None:
    text = (parent.findtext(path) or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) not in allowed:
        raise EbdIncomplete(f"{path} {text!r} is not one of {allowed.start}…{allowed.stop - 1}")
    return int(text)


def _rate(text: str | None) -> float | None:
    text = (text or "").strip().rstrip("%")
    if not text:
        return None
    try:
        rate = float(text)
    except ValueError:
        raise EbdIncomplete(f"CoverageRate {text!r} is not a number") from None
    if rate != rate or rate < 0 or rate > 100:  # NaN, negative or over 100 %
        raise EbdIncomplete(f"CoverageRate {text!r} is not a share or a percentage")
    return rate / 100 if rate > 1 else rate


def _when(parent: etree._Element, path: str) -> datetime | None:
    text = (parent.findtext(path) or "").strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)
    except ValueError:
        raise EbdIncomplete(f"{path} {text!r} is not YYYY-MM-DD HH:MM:SS") from None
