"""Reading EBD packages: the tar, the envelope, an EBM or an EBDResponse (pure).

Receivers refuse what they cannot use: `EbdUnreadable` (ResultCode 2) for a tar or XML that
cannot be parsed, `EbdIncomplete` (ResultCode 3) for missing elements or malformed ids.
The parsed `Ebd` keeps the exact EBDB bytes and the EBDS file, if any, unchecked: whoever
holds the sender's public key calls `ebd_sign.verify(parsed.signature, parsed.ebdb, key)`.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Mapping
from datetime import date, datetime

from lxml import etree

from channels.ebd import (
    AREA_RE,
    BEIJING,
    EBD_TYPES,
    EBDID_RE,
    EBMID_RE,
    EBRID_RE,
    EVENT_RE,
    MSG_CANCEL,
    TIME_FORMAT,
    XML_PARSER,
    Auxiliary,
    Ebd,
    EbdIncomplete,
    EbdUnreadable,
    Ebm,
    Response,
)


def parse_ebd(data: bytes) -> Ebd:
    """A received package; EbdUnreadable (ResultCode 2) or EbdIncomplete (3) if refused."""
    files = _untar(data)
    names = [name for name in files if name.startswith("EBDB_") and name.endswith(".xml")]
    if len(names) != 1:
        raise EbdUnreadable(f"the tar holds {len(names)} EBDB_*.xml files, not one")
    ebdb = files.pop(names[0])
    try:
        root = etree.fromstring(ebdb, XML_PARSER)
    except etree.XMLSyntaxError as e:
        raise EbdUnreadable(f"{names[0]} is not well-formed XML: {e}") from e
    if root.tag != "EBD":
        raise EbdUnreadable(f"the root element is {root.tag!r}, not EBD")
    package_id = _matching(root, "EBDID", EBDID_RE, "41 digits starting 10 or 01")
    if names[0] != f"EBDB_{package_id}.xml":
        raise EbdIncomplete(f"{names[0]} does not carry EBDID {package_id}")
    source = _matching(root, "SRC/EBRID", EBRID_RE, "23 digits")
    if package_id[2:25] != source:
        raise EbdIncomplete("EBDID does not contain the SRC EBRID")
    dest = root.findtext("DEST/EBRID")
    if dest is not None and not EBRID_RE.fullmatch(dest.strip()):
        raise EbdIncomplete("DEST/EBRID is not 23 digits")
    if _text(root, "EBDVersion") not in ("1.0", "1"):
        raise EbdIncomplete("EBDVersion is not 1.0")
    kind = _text(root, "EBDType")
    if kind not in EBD_TYPES:
        raise EbdIncomplete(f"EBDType {kind!r} is not a known package type")
    body = _required(root, kind)
    signature = _signature(files, names[0])
    files = {n: b for n, b in files.items() if not n.startswith("EBDS_")}  # not resources
    return Ebd(
        ebd_id=package_id,
        ebd_type=kind,
        source_ebrid=source,
        dest_ebrid=dest.strip() if dest else None,
        time=_time(root, "EBDTime"),
        related_ebd_id=(root.findtext("RelatedEBD/EBDID") or "").strip() or None,
        ebm=_ebm(body, files) if kind == "EBM" else None,
        response=_response(body) if kind == "EBDResponse" else None,
        resources=files,
        ebdb=ebdb,
        signature=signature,
    )


def read_response(data: bytes) -> Response:
    """The ResultCode and ResultDesc of a synchronous reply; EbdError if it is not one."""
    reply = parse_ebd(data)
    if reply.response is None:
        raise EbdIncomplete(f"the reply is an {reply.ebd_type}, not an EBDResponse")
    return reply.response


def _signature(files: Mapping[str, bytes], ebdb_name: str) -> bytes | None:
    """`EBDS_<EBDB name>` as all three sources name it, else the only EBDS_* file, if one."""
    if f"EBDS_{ebdb_name}" in files:
        return files[f"EBDS_{ebdb_name}"]
    others = [data for name, data in files.items() if name.startswith("EBDS_")]
    return others[0] if len(others) == 1 else None


def _ebm(body: etree._Element, files: Mapping[str, bytes]) -> Ebm:
    ebm_id_ = _matching(body, "EBMID", EBMID_RE, "35 digits")
    try:
        date(int(ebm_id_[23:27]), int(ebm_id_[27:29]), int(ebm_id_[29:31]))
    except ValueError:
        raise EbdIncomplete(f"EBMID {ebm_id_} has no valid date in digits 24–31") from None
    info = _required(body, "MsgBasicInfo")
    kind = _number(info, "MsgType", range(1, 6))
    sent = "SendTime" if info.find("SendTime") is not None else "SentTime"  # 2016 spelling
    content = body.find("MsgContent")
    if content is None and kind != MSG_CANCEL:
        raise EbdIncomplete("MsgContent is missing")
    language, title, desc, areas, aux = (
        _content(content, files) if content is not None else (None, "", "", (), ())
    )
    related = (body.findtext("RelatedInfo/EBMID") or "").strip() or None
    return Ebm(
        ebm_id=ebm_id_,
        msg_type=kind,
        sender_name=_text(info, "SenderName"),
        sender_code=_text(info, "SenderCode"),
        send_time=_time(info, sent),
        event_type=_matching(info, "EventType", EVENT_RE, "like 11B01"),
        severity=_number(info, "Severity", range(1, 5)),
        start=_time(info, "StartTime"),
        end=_time(info, "EndTime"),
        language=language,
        title=title,
        desc=desc,
        area_codes=areas,
        auxiliaries=aux,
        related_ebm_id=related,
    )


def _content(
    content: etree._Element, files: Mapping[str, bytes]
) -> tuple[str, str, str, tuple[str, ...], tuple[Auxiliary, ...]]:
    aux = tuple(_auxiliary(el, files) for el in content.iterfind("Auxiliary"))
    desc = (content.findtext("MsgDesc") or "").strip()
    if not desc and not aux:
        raise EbdIncomplete("MsgDesc is missing and there is no Auxiliary")
    areas = tuple(_text(content, "AreaCode").split(","))
    bad = [code for code in areas if not AREA_RE.fullmatch(code)]
    if bad:
        raise EbdIncomplete(f"AreaCode {bad[0]!r} is not a 12-digit area code")
    language = _text(content, "LanguageCode")
    return language, _text(content, "MsgTitle"), desc, areas, aux


def _auxiliary(el: etree._Element, files: Mapping[str, bytes]) -> Auxiliary:
    name = _text(el, "AuxiliaryDesc")
    size = _number(el, "Size", range(10**12)) if el.find("Size") is not None else None
    if "://" not in name:
        if name not in files:
            raise EbdIncomplete(f"Auxiliary names {name}, which the tar does not hold")
        if size is not None and size != len(files[name]):
            raise EbdIncomplete(f"{name} holds {len(files[name])} bytes, Size says {size}")
    return Auxiliary(_number(el, "AuxiliaryType", range(100)), name, size)


def _response(body: etree._Element) -> Response:
    code = _number(body, "ResultCode", range(6))
    return Response(code, (body.findtext("ResultDesc") or "").strip())


def _untar(data: bytes) -> dict[str, bytes]:
    files = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if not member.isfile() or "/" in member.name or "\\" in member.name:
                    raise EbdUnreadable(f"the tar is not flat: {member.name!r}")
                extracted = tar.extractfile(member)
                if extracted is None or member.name in files:
                    raise EbdUnreadable(f"cannot read {member.name!r} from the tar")
                files[member.name] = extracted.read()
    except (tarfile.TarError, EOFError) as e:
        raise EbdUnreadable(f"not an uncompressed tar: {e}") from e
    return files


def _required(parent: etree._Element, path: str) -> etree._Element:
    el = parent.find(path)
    if el is None:
        raise EbdIncomplete(f"{path} is missing")
    return el


def _text(parent: etree._Element, path: str) -> str:
    text = (parent.findtext(path) or "").strip()
    if not text:
        raise EbdIncomplete(f"{path} is missing or empty")
    return text


def _matching(parent: etree._Element, path: str, pattern: re.Pattern[str], what: str) -> str:
    text = _text(parent, path)
    if not pattern.fullmatch(text):
        raise EbdIncomplete(f"{path} {text!r} is not {what}")
    return text


def _number(parent: etree._Element, path: str, allowed: range) -> int:
    text = _text(parent, path)
    if not (text.isascii() and text.isdigit()) or int(text) not in allowed:
        raise EbdIncomplete(f"{path} {text!r} is not one of {allowed.start}…{allowed.stop - 1}")
    return int(text)


def _time(parent: etree._Element, path: str) -> datetime:
    text = _text(parent, path)
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)
    except ValueError:
        raise EbdIncomplete(f"{path} {text!r} is not YYYY-MM-DD HH:MM:SS") from None
