"""EBD/EBM packages: the standards note's §7 examples, IDs, codes and refusals."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from channels import ebd, ebd_read, ebd_sign
from channels.base import Alert, Audio
from channels.broadcast import ack_signature, ack_signature_valid
from sim.broadcast import load_terminals
from tests.support import TZ

# shared/standards/emergency_broadcast_ebd.md §7, verbatim.
EXAMPLE_EBM = """<?xml version="1.0" encoding="utf-8"?>
<EBD>
  <EBDVersion>1.0</EBDVersion>
  <EBDID>10432092100000001030101010000000000000001</EBDID>
  <EBDType>EBM</EBDType>
  <SRC><EBRID>43209210000000103010101</EBRID></SRC>
  <DEST><EBRID>53209211010000103010101</EBRID></DEST>
  <EBDTime>2025-07-14 10:00:05</EBDTime>
  <EBM>
    <EBMVersion>1</EBMVersion>
    <EBMID>43209210000000103010101202507140001</EBMID>
    <MsgBasicInfo>
      <MsgType>1</MsgType>
      <SenderName>响水县气象台</SenderName>
      <SenderCode>32092141600000</SenderCode>
      <SendTime>2025-07-14 10:00:00</SendTime>
      <EventType>11B01</EventType>
      <Severity>1</Severity>
      <StartTime>2025-07-14 10:00:00</StartTime>
      <EndTime>2025-07-15 10:00:00</EndTime>
    </MsgBasicInfo>
    <MsgContent>
      <LanguageCode>zho</LanguageCode>
      <MsgTitle>响水县气象台发布台风红色预警信号</MsgTitle>
      <MsgDesc>预计未来12小时内本地将受台风严重影响，风力12级以上，请立即停止户外活动。</MsgDesc>
      <AreaCode>320921101000</AreaCode>
      <Auxiliary>
        <AuxiliaryType>2</AuxiliaryType>
        <AuxiliaryDesc>EBDR_0001.mp3</AuxiliaryDesc>
        <Size>204286</Size>
      </Auxiliary>
    </MsgContent>
  </EBM>
</EBD>
"""
EXAMPLE_REPLY = """<?xml version="1.0" encoding="utf-8"?>
<EBD>
  <EBDVersion>1.0</EBDVersion>
  <EBDID>10532092110100001030101010000000000000001</EBDID>
  <EBDType>EBDResponse</EBDType>
  <SRC><EBRID>53209211010000103010101</EBRID></SRC>
  <DEST><EBRID>43209210000000103010101</EBRID></DEST>
  <EBDTime>2025-07-14 10:00:06</EBDTime>
  <RelatedEBD><EBDID>10432092100000001030101010000000000000001</EBDID></RelatedEBD>
  <EBDResponse>
    <ResultCode>1</ResultCode>
    <ResultDesc>接收解析及数据校验成功</ResultDesc>
  </EBDResponse>
</EBD>
"""
EXAMPLE_ID = "10432092100000001030101010000000000000001"
SOURCE = "43209210000000103010101"
DEST = "53209211010000103010101"
TITLE = "响水县气象台发布台风红色预警信号"
DESC = "预计未来12小时内本地将受台风严重影响，风力12级以上，请立即停止户外活动。"
SENT = datetime(2025, 7, 14, 10, 0, tzinfo=TZ)
ALERT = Alert(
    warning_id=7,
    version=1,
    event_code="11B01",
    grade_rank=4,
    sender_name="响水县气象台",
    sender_code="32092141600000",
    sent=SENT,
    start=SENT,
    end=SENT + timedelta(days=1),
    sequence=1,
)


def example_build(**overrides: object) -> tuple[str, bytes]:
    args: dict[str, object] = {
        "alert": ALERT,
        "title": TITLE,
        "desc": DESC,
        "areas": ["320921101000"],
        "source_ebrid": SOURCE,
        "dest_ebrid": DEST,
        "sequence": 1,
        "created": SENT + timedelta(seconds=5),
    }
    args.update(overrides)
    return ebd.build_ebd(**args)  # type: ignore[arg-type]


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def example_tar(xml: str = EXAMPLE_EBM, audio_size: int = 204286) -> bytes:
    return tar_of(
        {
            f"EBDB_{EXAMPLE_ID}.xml": xml.encode(),
            f"EBDS_EBDB_{EXAMPLE_ID}.xml": b"<Signature/>",
            "EBDR_0001.mp3": bytes(audio_size),
        }
    )


def members(tar_bytes: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def canonical(xml: bytes, drop: str | None = None) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    root = etree.fromstring(xml, parser)
    if drop is not None:
        for el in root.iter(drop):
            el.getparent().remove(el)
    return etree.tostring(root, method="c14n")


def test_built_package_is_the_example_without_its_mp3() -> None:
    name, tar = example_build()
    files = members(tar)
    assert name == f"EBDT_{EXAMPLE_ID}.tar"
    assert list(files) == [f"EBDB_{EXAMPLE_ID}.xml"]  # no EBDS without a signer
    xml = files[f"EBDB_{EXAMPLE_ID}.xml"]
    assert xml.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<EBD>')
    assert canonical(xml) == canonical(EXAMPLE_EBM.encode(), drop="Auxiliary")


def test_built_package_is_flat_and_uncompressed() -> None:
    _, tar = example_build(audio=Audio(b"RIFF....WAVE", "wav"))
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as opened:
        infos = opened.getmembers()
    assert [i.name for i in infos] == [f"EBDB_{EXAMPLE_ID}.xml", "EBDR_0001.wav"]
    assert all(i.isfile() and "/" not in i.name for i in infos)


def test_example_package_parses() -> None:
    parsed = ebd_read.parse_ebd(example_tar())
    assert (parsed.ebd_id, parsed.ebd_type) == (EXAMPLE_ID, "EBM")
    assert (parsed.source_ebrid, parsed.dest_ebrid) == (SOURCE, DEST)
    assert parsed.time == datetime(2025, 7, 14, 10, 0, 5, tzinfo=TZ)
    assert set(parsed.resources) == {"EBDR_0001.mp3"}  # the unverified EBDS is set aside
    ebm = parsed.ebm
    assert ebm is not None
    assert ebm.ebm_id == "43209210000000103010101202507140001"
    assert (len(parsed.ebd_id), len(ebm.ebm_id)) == (41, 35)
    assert (ebm.msg_type, ebm.event_type, ebm.severity) == (1, "11B01", 1)
    assert (ebm.sender_name, ebm.sender_code) == ("响水县气象台", "32092141600000")
    assert (ebm.send_time, ebm.start, ebm.end) == (SENT, SENT, SENT + timedelta(days=1))
    assert (ebm.language, ebm.title, ebm.desc) == ("zho", TITLE, DESC)
    assert ebm.area_codes == ("320921101000",)
    assert ebm.auxiliaries == (ebd.Auxiliary(2, "EBDR_0001.mp3", 204286),)


def test_round_trip_with_audio() -> None:
    audio = b"RIFF" + bytes(1000)
    parsed = ebd_read.parse_ebd(example_build(audio=Audio(audio, "wav"))[1])
    assert parsed.ebm is not None
    assert parsed.ebm.auxiliaries == (ebd.Auxiliary(ebd.AUXILIARY_WAV, "EBDR_0001.wav", 1004),)
    assert ebd.AUXILIARY_WAV == 3
    assert parsed.resources == {"EBDR_0001.wav": audio}
    assert parsed.ebm.desc == DESC


def test_ids_are_built_from_ebrid_sequence_and_beijing_date() -> None:
    assert ebd.ebd_id(SOURCE, 1) == EXAMPLE_ID
    assert ebd.ebd_id(SOURCE, 10**16 - 1) == "10" + SOURCE + "9" * 16
    # 17:30 UTC on the 13th is 01:30 on the 14th in Beijing: the EBMID takes Beijing's date.
    late = datetime(2025, 7, 13, 17, 30, tzinfo=UTC)
    assert ebd.ebm_id(SOURCE, late, 12) == SOURCE + "20250714" + "0012"
    for bad in (lambda: ebd.ebd_id(SOURCE, 0), lambda: ebd.ebd_id(SOURCE, 10**16)):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="4 digits"):
        ebd.ebm_id(SOURCE, late, 10_000)
    with pytest.raises(ValueError, match="23 digits"):
        ebd.ebd_id(SOURCE[:-1], 1)


def test_times_are_written_in_beijing_local_time() -> None:
    utc_alert = replace(
        ALERT,
        sent=SENT.astimezone(UTC),
        start=SENT.astimezone(UTC),
        end=(SENT + timedelta(days=1)).astimezone(UTC),
    )
    created = (SENT + timedelta(seconds=5)).astimezone(UTC)
    _, tar = example_build(alert=utc_alert, created=created)
    assert canonical(members(tar)[f"EBDB_{EXAMPLE_ID}.xml"]) == canonical(
        EXAMPLE_EBM.encode(), drop="Auxiliary"
    )


@pytest.mark.parametrize(
    ("grade_rank", "severity"),
    [(4, 1), (3, 2), (2, 3), (1, 4)],
    ids=["red", "orange", "yellow", "blue"],
)
def test_severity_is_five_minus_the_grade_rank(grade_rank: int, severity: int) -> None:
    parsed = ebd_read.parse_ebd(example_build(alert=replace(ALERT, grade_rank=grade_rank))[1])
    assert parsed.ebm is not None and parsed.ebm.severity == severity


@pytest.mark.parametrize("grade_rank", [0, 5, -1])
def test_unknown_grade_is_refused(grade_rank: int) -> None:
    with pytest.raises(ValueError, match="grade rank"):
        example_build(alert=replace(ALERT, grade_rank=grade_rank))


@pytest.mark.parametrize(
    ("cancel", "exercise", "msg_type"),
    [(False, False, 1), (True, False, 2), (False, True, 3), (True, True, 2)],
    ids=["actual", "cancel", "exercise", "cancelled-exercise"],
)
def test_msg_type(cancel: bool, exercise: bool, msg_type: int) -> None:
    alert = replace(ALERT, cancel=cancel, exercise=exercise)
    parsed = ebd_read.parse_ebd(example_build(alert=alert)[1])
    assert parsed.ebm is not None and parsed.ebm.msg_type == msg_type


def test_area_codes_are_twelve_digits_comma_joined_once_each() -> None:
    areas = ["320921107001", "320921101", "320921101001", "320921101", "320921100001"]
    _, tar = example_build(areas=areas)
    xml = etree.fromstring(members(tar)[f"EBDB_{EXAMPLE_ID}.xml"])
    # 320921101001 lies in the listed township 320921101: listed again it would play twice.
    assert xml.findtext("EBM/MsgContent/AreaCode") == "320921100001,320921101000,320921107001"
    parsed = ebd_read.parse_ebd(tar)
    assert parsed.ebm is not None
    assert parsed.ebm.area_codes == ("320921100001", "320921101000", "320921107001")


@pytest.mark.parametrize(
    ("codes", "kept"),
    [
        (["320921000000", "320921101000", "320921101001"], ["320921000000"]),
        (["320921101001", "320921101000"], ["320921101000"]),
        (["320921101001", "320921101001", "320921102001"], ["320921101001", "320921102001"]),
        (["320921101000", "320921110000"], ["320921101000", "320921110000"]),
        (["320921101001"], ["320921101001"]),
    ],
)
def test_covering_keeps_each_area_once_and_none_a_listed_one_covers(
    codes: list[str], kept: list[str]
) -> None:
    assert ebd.covering(codes) == kept


@pytest.mark.parametrize("drill", [3, 4, 5])
def test_an_exercise_is_the_drill_asked_for_and_its_cancel_a_cancel(drill: int) -> None:
    exercise = replace(ALERT, exercise=True)
    assert ebd.msg_type(exercise, drill) == drill
    assert ebd.msg_type(replace(exercise, cancel=True), drill) == ebd.MSG_CANCEL
    assert ebd.msg_type(ALERT, drill) == ebd.MSG_ACTUAL


def test_a_drill_type_outside_3_to_5_is_refused() -> None:
    with pytest.raises(ValueError, match="drill MsgType 1"):
        ebd.msg_type(replace(ALERT, exercise=True), 1)


def test_a_re_used_ebmid_is_the_package_s_own() -> None:
    original = SOURCE + "202507140001"
    parsed = ebd_read.parse_ebd(
        example_build(
            alert=replace(ALERT, cancel=True, sequence=2),
            related_ebm_id=original,
            own_ebm_id=original,
        )[1]
    )
    assert parsed.ebm is not None
    assert (parsed.ebm.ebm_id, parsed.ebm.related_ebm_id) == (original, original)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("320921", "320921000000"),
        ("320921101", "320921101000"),
        ("320921101001", "320921101001"),
        ("320921101E02", None),
        ("32092", None),
        ("3209211010", None),
        ("3209211010010", None),
        ("３２０９２１", None),  # full-width digits
        ("", None),
    ],
)
def test_area_code_12(code: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            ebd.area_code_12(code)
    else:
        assert ebd.area_code_12(code) == expected


@pytest.mark.parametrize(
    ("area_code", "terminal_area", "within"),
    [
        ("320921101000", "320921101001", True),
        ("320921000000", "320921101001", True),
        ("320900000000", "320921101001", True),
        ("320000000000", "320921101001", True),
        ("320921101001", "320921101001", True),
        ("320921101000", "320921102001", False),
        ("320921101001", "320921101002", False),
        ("320922000000", "320921101001", False),
        ("320921101100", "320921101001", False),
    ],
)
def test_covers(area_code: str, terminal_area: str, within: bool) -> None:
    assert ebd.covers(area_code, terminal_area) is within


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alert": replace(ALERT, event_code="typhoon")}, "event code"),
        ({"areas": []}, "at least one area"),
        ({"areas": ["320921101E02"]}, "area code"),
        ({"desc": "  "}, "MsgDesc"),
        ({"alert": replace(ALERT, end=SENT)}, "ends before"),
        ({"alert": replace(ALERT, sent=SENT.replace(tzinfo=None))}, "naive"),
        ({"dest_ebrid": "123"}, "23 digits"),
        ({"source_ebrid": "4320921000000010301010X"}, "23 digits"),
        ({"sequence": 0}, "16 digits"),
    ],
)
def test_unbuildable_packages_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        example_build(**change)


def test_related_ebm_id_goes_into_related_info() -> None:
    related = SOURCE + "202507140001"
    parsed = ebd_read.parse_ebd(
        example_build(alert=replace(ALERT, cancel=True, sequence=2), related_ebm_id=related)[1]
    )
    assert parsed.ebm is not None
    assert (parsed.ebm.msg_type, parsed.ebm.related_ebm_id) == (2, related)
    assert parsed.ebm.ebm_id.endswith("0002")


def _xml(old: str, new: str) -> bytes:
    assert old in EXAMPLE_EBM
    return example_tar(EXAMPLE_EBM.replace(old, new))


def _without(tag: str) -> bytes:
    start = EXAMPLE_EBM.index(f"<{tag}>")
    end = EXAMPLE_EBM.index(f"</{tag}>") + len(f"</{tag}>")
    return example_tar(EXAMPLE_EBM[:start] + EXAMPLE_EBM[end:])


def _gzipped() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        content = EXAMPLE_EBM.encode()
        info = tarfile.TarInfo(f"EBDB_{EXAMPLE_ID}.xml")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _with_directory() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        content = EXAMPLE_EBM.encode()
        info = tarfile.TarInfo(f"pkg/EBDB_{EXAMPLE_ID}.xml")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


REFUSALS = {
    "not a tar": (b"<html>500</html>", 2),
    "empty": (b"", 2),
    "gzipped tar": (_gzipped(), 2),
    "directory in tar": (_with_directory(), 2),
    "no EBDB file": (tar_of({"EBDR_0001.mp3": b"x"}), 2),
    "two EBDB files": (
        tar_of({f"EBDB_{EXAMPLE_ID}.xml": b"<EBD/>", "EBDB_1.xml": b"<EBD/>"}),
        2,
    ),
    "not XML": (_xml("</EBD>", "</EB>"), 2),
    "wrong root": (_xml("<EBD>", "<EBDX>").replace(b"</EBD>", b"</EBDX>"), 2),
    "EBDType unknown": (_xml("<EBDType>EBM<", "<EBDType>EBM/..<"), 3),
    "EBDType without its body": (_xml("<EBDType>EBM<", "<EBDType>EBMStateRequest<"), 3),
    "EBDID 40 digits": (_xml(f"<EBDID>{EXAMPLE_ID}<", f"<EBDID>{EXAMPLE_ID[:-1]}<"), 3),
    "EBDID not from SRC": (_xml(f"<SRC><EBRID>{SOURCE}", f"<SRC><EBRID>{DEST}"), 3),
    "EBMID 34 digits": (_xml("202507140001<", "20250714001<"), 3),
    "EBMID bad date": (_xml("202507140001<", "202513140001<"), 3),
    "Severity 5": (_xml("<Severity>1<", "<Severity>5<"), 3),
    "Severity 0": (_xml("<Severity>1<", "<Severity>0<"), 3),
    "MsgType 9": (_xml("<MsgType>1<", "<MsgType>9<"), 3),
    "AreaCode 11 digits": (_xml("<AreaCode>320921101000<", "<AreaCode>32092110100<"), 3),
    "AreaCode with a letter": (
        _xml("<AreaCode>320921101000<", "<AreaCode>320921101000,320921101E02<"),
        3,
    ),
    "AreaCode missing": (_without("AreaCode"), 3),
    "MsgTitle missing": (_without("MsgTitle"), 3),
    "EventType missing": (_without("EventType"), 3),
    "EventType malformed": (_xml("<EventType>11B01<", "<EventType>typhoon<"), 3),
    "MsgContent missing": (_without("MsgContent"), 3),
    "StartTime malformed": (_xml("<StartTime>2025-07-14 10:00:00<", "<StartTime>2025/07/14<"), 3),
    "Auxiliary file missing": (_xml("EBDR_0001.mp3<", "EBDR_0002.mp3<"), 3),
    "Auxiliary size wrong": (example_tar(audio_size=10), 3),
    "EBDB name and EBDID differ": (
        tar_of({"EBDB_10432092100000001030101010000000000000002.xml": EXAMPLE_EBM.encode()}),
        3,
    ),
}


@pytest.mark.parametrize(("package", "code"), REFUSALS.values(), ids=REFUSALS.keys())
def test_malformed_packages_are_refused_with_their_result_code(package: bytes, code: int) -> None:
    with pytest.raises(ebd.EbdError) as refused:
        ebd_read.parse_ebd(package)
    assert refused.value.result_code == code


def test_lenient_where_senders_differ() -> None:
    lenient = (
        EXAMPLE_EBM.replace("<EBD>", '<EBD xmlns:xs="http://www.w3.org/2001/XMLSchema">')
        .replace("<EBDVersion>1.0<", "<EBDVersion>1<")
        .replace("SendTime>", "SentTime>")
    )
    parsed = ebd_read.parse_ebd(example_tar(lenient))
    assert parsed.ebm is not None and parsed.ebm.send_time == SENT


def test_cancel_may_omit_its_content() -> None:
    start = EXAMPLE_EBM.index("<MsgContent>")
    end = EXAMPLE_EBM.index("</MsgContent>") + len("</MsgContent>")
    cancel = EXAMPLE_EBM[:start] + EXAMPLE_EBM[end:]
    parsed = ebd_read.parse_ebd(example_tar(cancel.replace("<MsgType>1<", "<MsgType>2<")))
    assert parsed.ebm is not None
    assert (parsed.ebm.msg_type, parsed.ebm.area_codes) == (2, ())


def test_example_reply_reads_and_builds_back() -> None:
    reply_id = "10532092110100001030101010000000000000001"
    assert ebd.ebd_id(DEST, 1) == reply_id
    received = tar_of({f"EBDB_{reply_id}.xml": EXAMPLE_REPLY.encode()})
    assert ebd_read.read_response(received) == ebd.Response(1, "接收解析及数据校验成功")
    name, built = ebd.build_response(
        source_ebrid=DEST,
        dest_ebrid=SOURCE,
        sequence=1,
        related_ebd_id=EXAMPLE_ID,
        result_code=1,
        result_desc="接收解析及数据校验成功",
        created=datetime(2025, 7, 14, 10, 0, 6, tzinfo=TZ),
    )
    assert name == f"EBDT_{reply_id}.tar"
    assert canonical(members(built)[f"EBDB_{reply_id}.xml"]) == canonical(EXAMPLE_REPLY.encode())
    assert ebd_read.parse_ebd(built).related_ebd_id == EXAMPLE_ID


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5])
def test_every_result_code_round_trips(code: int) -> None:
    _, built = ebd.build_response(
        source_ebrid=DEST,
        dest_ebrid=SOURCE,
        sequence=2,
        related_ebd_id=None,
        result_code=code,
        result_desc=ebd.RESULT_TEXT[code],
        created=SENT,
    )
    assert ebd_read.read_response(built) == ebd.Response(code, ebd.RESULT_TEXT[code])


def test_an_ebm_is_not_a_response() -> None:
    with pytest.raises(ebd.EbdIncomplete, match="not an EBDResponse"):
        ebd_read.read_response(example_tar())


def test_ack_signature_binds_secret_timestamp_and_body() -> None:
    signature = ack_signature("s3cret", "1753000000", b'{"a": 1}')
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert ack_signature_valid("s3cret", "1753000000", b'{"a": 1}', signature)
    assert not ack_signature_valid("other", "1753000000", b'{"a": 1}', signature)
    assert not ack_signature_valid("s3cret", "1753000001", b'{"a": 1}', signature)
    assert not ack_signature_valid("s3cret", "1753000000", b'{"a": 2}', signature)
    assert not ack_signature_valid("s3cret", "1753000000", b"", "sha256=é")  # no TypeError
    # Without a secret nothing verifies, not even a signature made with the empty key.
    assert not ack_signature_valid("", "1", b"", ack_signature("", "1", b""))


def test_sample_terminals_load_with_the_area_their_endpoint_encodes() -> None:
    terminals = load_terminals()
    assert len(terminals) == 190
    assert all(area == endpoint[1:13] for endpoint, area, _ in terminals)
    assert ("33209211010000314020000", "320921101000", True) in terminals  # 320921101E02
    assert ("33209211010050314020000", "320921101005", False) in terminals


# --- signed packages (channels/ebd_sign.py) ------------------------------------------------

SIGNER_PRIVATE = "1aac66088239867ee9b55e9e45dc87be28f312bedeb8834655364b09c4e46c8f"


def test_a_signed_package_holds_ebdb_then_ebds_then_the_audio() -> None:
    signer = ebd_sign.Signer(SIGNER_PRIVATE, cert_sn="0000000033aa")
    audio = b"RIFF" + bytes(100)
    _, tar = example_build(audio=Audio(audio, "wav"), signer=signer)
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as opened:
        names = opened.getnames()
    assert names == [f"EBDB_{EXAMPLE_ID}.xml", f"EBDS_EBDB_{EXAMPLE_ID}.xml", "EBDR_0001.wav"]
    files = members(tar)
    parsed = ebd_read.parse_ebd(tar)
    assert parsed.ebdb == files[f"EBDB_{EXAMPLE_ID}.xml"]  # the exact bytes that were signed
    assert parsed.signature == files[f"EBDS_EBDB_{EXAMPLE_ID}.xml"]
    assert parsed.resources == {"EBDR_0001.wav": audio}  # the EBDS is not a resource
    ebd_sign.verify(parsed.signature, parsed.ebdb, signer.public_key)
    assert ebd_sign.parse_signature(parsed.signature).related_ebd_id == EXAMPLE_ID
    # Unsigned, the package is what it was before signing existed.
    unsigned = members(example_build(audio=Audio(audio, "wav"))[1])
    assert unsigned[f"EBDB_{EXAMPLE_ID}.xml"] == parsed.ebdb


def test_a_signed_response_verifies_and_an_edited_one_does_not() -> None:
    signer = ebd_sign.Signer(SIGNER_PRIVATE)
    _, built = ebd.build_response(
        source_ebrid=DEST,
        dest_ebrid=SOURCE,
        sequence=3,
        related_ebd_id=EXAMPLE_ID,
        result_code=1,
        result_desc="接收解析及数据校验成功",
        created=SENT,
        signer=signer,
    )
    parsed = ebd_read.parse_ebd(built)
    ebd_sign.verify(parsed.signature, parsed.ebdb, signer.public_key)
    edited = parsed.ebdb.replace(b"<ResultCode>1<", b"<ResultCode>4<")
    with pytest.raises(ebd_sign.SignatureInvalid):
        ebd_sign.verify(parsed.signature, edited, signer.public_key)


def test_parsed_packages_keep_their_ebdb_bytes_and_signature() -> None:
    parsed = ebd_read.parse_ebd(example_tar())
    assert parsed.ebdb == EXAMPLE_EBM.encode()
    assert parsed.signature == b"<Signature/>"
    unsigned = ebd_read.parse_ebd(example_build()[1])
    assert unsigned.signature is None and unsigned.ebdb.startswith(b"<?xml")
    assert "Signature" not in repr(parsed) and "EBDVersion" not in repr(parsed)


def test_a_signature_under_the_2016_name_is_found_and_set_aside() -> None:
    package = tar_of(
        {
            f"EBDB_{EXAMPLE_ID}.xml": EXAMPLE_EBM.encode(),
            f"EBDS_{EXAMPLE_ID}.xml": b"<Signature>2016</Signature>",
            "EBDR_0001.mp3": bytes(204286),
        }
    )
    parsed = ebd_read.parse_ebd(package)
    assert parsed.signature == b"<Signature>2016</Signature>"
    assert set(parsed.resources) == {"EBDR_0001.mp3"}
