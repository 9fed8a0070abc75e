"""EBD packages carrying an EBM, and EBDResponse replies: pure building and parsing.

The format is the one reconstructed in shared/standards/emergency_broadcast_ebd.md (GD/J
082/083-2018, now GY/T 385/384-2023): a flat, uncompressed tar `EBDT_<EBDID>.tar` holding
`EBDB_<EBDID>.xml`, its signature `EBDS_EBDB_<EBDID>.xml` when a `Signer` is given, and the
audio files its Auxiliary elements name.

The signature (SM2 over the SM3 digest of the exact EBDB bytes, GY/T 389-2023) is made and
checked in channels/ebd_sign.py, whose docstring says which of the seen layouts it writes.
Without a signer a package goes unsigned; receivers that require a signature answer
ResultCode 4, which the adapter reports as a permanent failure.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from lxml import etree

from channels.base import Alert, Audio

if TYPE_CHECKING:  # ebd_sign imports this module for EbdError
    from channels.ebd_sign import Signer

BEIJING = ZoneInfo("Asia/Shanghai")  # every EBD time is local Beijing time without a zone
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
RESULT_TEXT = {
    0: "收到数据未处理",
    1: "接收解析及数据校验成功",
    2: "接收解析失败",
    3: "数据内容缺失",
    4: "签名验证失败",
    5: "其他错误",
}
# Only 2 = MP3 is confirmed by every implementation; one vendor lists 3 = WAV.
AUXILIARY_MP3, AUXILIARY_WAV = 2, 3
MSG_ACTUAL, MSG_CANCEL, MSG_EXERCISE = 1, 2, 3
DRILLS = (3, 4, 5)  # platform, front-end and terminal drills
# fmt: off
EBD_TYPES = frozenset({  # §2: the package types, each the name of the body element
    "EBM", "EBMStateRequest", "EBMStateResponse", "OMDRequest", "EBRPSInfo", "EBRSTInfo",
    "EBRASInfo", "EBRBSInfo", "EBRDTInfo", "EBMBrdLog", "EBRPSState", "EBRASState",
    "EBRBSState", "EBRDTState", "ConnectionCheck", "EBDResponse",
})
# fmt: on

EBRID_RE = re.compile(r"\d{23}", re.ASCII)
EBDID_RE = re.compile(r"(10|01)\d{39}", re.ASCII)
EBMID_RE = re.compile(r"\d{35}", re.ASCII)
AREA_RE = re.compile(r"\d{12}", re.ASCII)
EVENT_RE = re.compile(r"\d{2}[A-Z]\d{2}", re.ASCII)
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class EbdError(ValueError):
    """A package that cannot be accepted; `result_code` is the EBDResponse code it earns."""

    result_code = 5


class EbdUnreadable(EbdError):
    """Not a flat uncompressed tar with one EBDB XML file, or not well-formed XML."""

    result_code = 2


class EbdIncomplete(EbdError):
    """A required element is missing or its value is invalid."""

    result_code = 3


@dataclass(frozen=True)
class Auxiliary:
    type: int
    desc: str  # the file name in the tar (or a URL)
    size: int | None


@dataclass(frozen=True)
class Ebm:
    ebm_id: str
    msg_type: int
    sender_name: str
    sender_code: str
    send_time: datetime
    event_type: str
    severity: int
    start: datetime
    end: datetime
    language: str | None
    title: str
    desc: str
    area_codes: tuple[str, ...]
    auxiliaries: tuple[Auxiliary, ...] = ()
    related_ebm_id: str | None = None


@dataclass(frozen=True)
class Response:
    result_code: int
    result_desc: str


@dataclass(frozen=True)
class Ebd:
    ebd_id: str
    ebd_type: str
    source_ebrid: str
    dest_ebrid: str | None
    time: datetime
    related_ebd_id: str | None = None
    ebm: Ebm | None = None
    response: Response | None = None
    resources: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    ebdb: bytes = field(default=b"", repr=False)  # the exact EBDB file, as signed
    signature: bytes | None = field(default=None, repr=False)  # the EBDS file, if any


def area_code_12(code: str) -> str:
    """A 6-digit county, 9-digit township or 12-digit code as the EBM's 12-digit AreaCode."""
    if not (code.isascii() and code.isdigit()) or len(code) not in (6, 9, 12):
        raise ValueError(f"not a 6, 9 or 12-digit area code: {code!r}")
    return code.ljust(12, "0")


def area_prefix(code: str) -> str:
    """The significant part of a 12-digit code: 320921101000 → 320921101, 320900000000 → 3209."""
    for length in (2, 4, 6, 9):
        if set(code[length:]) == {"0"}:
            return code[:length]
    return code


def covers(area_code: str, terminal_area: str) -> bool:
    """Whether a terminal in `terminal_area` lies within `area_code` (both 12 digits)."""
    return terminal_area.startswith(area_prefix(area_code))


def covering(codes: Sequence[str]) -> list[str]:
    """Each area once, and none that another listed area already covers: a package listing a
    township and its villages makes the village terminals play twice (12-digit codes)."""
    unique = sorted(set(codes), key=lambda code: (len(area_prefix(code)), code))
    kept: list[str] = []
    for code in unique:
        if not any(covers(wider, code) for wider in kept):
            kept.append(code)
    return sorted(kept)


def ebd_id(source_ebrid: str, sequence: int) -> str:
    """类型码 10 + the sender's 23-digit EBRID + a 16-digit sequence unique at the sender."""
    _check_ebrid(source_ebrid, "source EBRID")
    if not 0 < sequence < 10**16:
        raise ValueError(f"EBD sequence {sequence} does not fit 16 digits")
    return f"10{source_ebrid}{sequence:016d}"


def ebm_id(source_ebrid: str, sent: datetime, sequence: int) -> str:
    """The issuing platform's EBRID + YYYYMMDD (Beijing date of issue) + 4-digit daily number."""
    _check_ebrid(source_ebrid, "source EBRID")
    if not 0 < sequence < 10**4:
        raise ValueError(f"EBM sequence {sequence} does not fit 4 digits")
    return f"{source_ebrid}{_local(sent):%Y%m%d}{sequence:04d}"


def msg_type(alert: Alert, drill: int = MSG_EXERCISE) -> int:
    """1 actual, 2 cancel; an exercise plays as the drill `drill`: 3 platform drill (the
    default), 4 front-end drill or 5 terminal drill. A cancelled exercise is still a cancel."""
    if drill not in DRILLS:
        raise ValueError(f"drill MsgType {drill} is not one of {', '.join(map(str, DRILLS))}")
    if alert.cancel:
        return MSG_CANCEL
    return drill if alert.exercise else MSG_ACTUAL


def severity(grade_rank: int) -> int:
    """Ⅰ级 (1) for red, rank 4, down to Ⅳ级 (4) for blue, rank 1."""
    if grade_rank not in (1, 2, 3, 4):
        raise ValueError(f"grade rank {grade_rank} is not 1 (blue) … 4 (red)")
    return 5 - grade_rank


def build_ebd(
    *,
    alert: Alert,
    title: str,
    desc: str,
    areas: Sequence[str],
    source_ebrid: str,
    dest_ebrid: str,
    sequence: int,
    created: datetime,
    audio: Audio | None = None,
    related_ebm_id: str | None = None,
    signer: Signer | None = None,
    drill: int = MSG_EXERCISE,
    own_ebm_id: str | None = None,
) -> tuple[str, bytes]:
    """The tar name and bytes of one EBM package (signed by `signer`); ValueError if wrong.

    `related_ebm_id` is the EBM this one replaces or cancels (RelatedInfo/EBMID); an EBM's
    own EBMID comes from the alert's sent day and sequence unless `own_ebm_id` re-uses one
    (a cancel under `broadcast_cancel_ebmid = "original"`)."""
    _check_ebrid(dest_ebrid, "destination EBRID")
    if not EVENT_RE.fullmatch(alert.event_code):
        raise ValueError(f"event code {alert.event_code!r} is not like 11B01")
    codes = covering([area_code_12(code) for code in areas])
    if not codes:
        raise ValueError("a broadcast needs at least one area code")
    if not desc.strip():
        raise ValueError("a broadcast needs a text (MsgDesc)")
    if alert.end <= alert.start:
        raise ValueError("the broadcast window ends before it starts")
    for given in (related_ebm_id, own_ebm_id):
        if given is not None and not EBMID_RE.fullmatch(given):
            raise ValueError(f"EBMID {given!r} is not 35 digits")
    kind = msg_type(alert, drill)
    package_id = ebd_id(source_ebrid, sequence)
    root = _envelope(package_id, "EBM", source_ebrid, dest_ebrid, created)
    ebm = _sub(root, "EBM")
    _sub(ebm, "EBMVersion", "1")
    _sub(ebm, "EBMID", own_ebm_id or ebm_id(source_ebrid, alert.sent, alert.sequence))
    if related_ebm_id:
        _sub(_sub(ebm, "RelatedInfo"), "EBMID", related_ebm_id)
    info = _sub(ebm, "MsgBasicInfo")
    _sub(info, "MsgType", str(kind))
    _sub(info, "SenderName", alert.sender_name)
    _sub(info, "SenderCode", alert.sender_code)
    _sub(info, "SendTime", _format(alert.sent))
    _sub(info, "EventType", alert.event_code)
    _sub(info, "Severity", str(severity(alert.grade_rank)))
    _sub(info, "StartTime", _format(alert.start))
    _sub(info, "EndTime", _format(alert.end))
    content = _sub(ebm, "MsgContent")
    _sub(content, "LanguageCode", "zho")
    _sub(content, "MsgTitle", title)
    _sub(content, "MsgDesc", desc)
    _sub(content, "AreaCode", ",".join(codes))
    files = {}
    if audio is not None:
        name = f"EBDR_0001.{audio.format}"
        aux = _sub(content, "Auxiliary")
        _sub(aux, "AuxiliaryType", str(audio.auxiliary_type))
        _sub(aux, "AuxiliaryDesc", name)
        _sub(aux, "Size", str(len(audio.data)))
        files[name] = audio.data
    return _tar(package_id, root, files, created, signer=signer)


def build_response(
    *,
    source_ebrid: str,
    dest_ebrid: str,
    sequence: int,
    related_ebd_id: str | None,
    result_code: int,
    result_desc: str,
    created: datetime,
    signer: Signer | None = None,
) -> tuple[str, bytes]:
    """The tar name and bytes of an EBDResponse answering `related_ebd_id` (signed by `signer`)."""
    if result_code not in RESULT_TEXT:
        raise ValueError(f"ResultCode {result_code} is not 0…5")
    package_id = ebd_id(source_ebrid, sequence)
    root = _envelope(package_id, "EBDResponse", source_ebrid, dest_ebrid, created)
    if related_ebd_id:
        _sub(_sub(root, "RelatedEBD"), "EBDID", related_ebd_id)
    body = _sub(root, "EBDResponse")
    _sub(body, "ResultCode", str(result_code))
    _sub(body, "ResultDesc", result_desc)
    return _tar(package_id, root, {}, created, signer=signer)


def _envelope(
    package_id: str, kind: str, source: str, dest: str, created: datetime
) -> etree._Element:
    root = etree.Element("EBD")
    _sub(root, "EBDVersion", "1.0")
    _sub(root, "EBDID", package_id)
    _sub(root, "EBDType", kind)
    _sub(_sub(root, "SRC"), "EBRID", source)
    _sub(_sub(root, "DEST"), "EBRID", dest)
    _sub(root, "EBDTime", _format(created))
    return root


def _tar(
    package_id: str,
    root: etree._Element,
    files: Mapping[str, bytes],
    created: datetime,
    *,
    signer: Signer | None = None,
) -> tuple[str, bytes]:
    """The tar of EBDB, then its EBDS when `signer` is given, then the resource files."""
    xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + etree.tostring(
        root, encoding="utf-8", pretty_print=True
    )
    members = {f"EBDB_{package_id}.xml": xml}
    if signer is not None:
        members[f"EBDS_EBDB_{package_id}.xml"] = signer.sign(xml, package_id, created)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in {**members, **files}.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, int(created.timestamp())
            tar.addfile(info, io.BytesIO(content))
    return f"EBDT_{package_id}.tar", buffer.getvalue()


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("refusing a naive datetime: EBD times are converted to Beijing time")
    return moment.astimezone(BEIJING)


def _format(moment: datetime) -> str:
    return _local(moment).strftime(TIME_FORMAT)


def _check_ebrid(value: str, what: str) -> None:
    if not EBRID_RE.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not 23 digits")
