"""Heartbeats, state requests and state reports: built, read back, refused when malformed."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from channels import ebd, ebd_read, ebd_sign, ebd_state
from channels.ebd_state import ResourceState
from tests.support import TZ

SOURCE = "43209210000000102010101"  # ewb
PLATFORM = "43209210000000103010101"
EBM = SOURCE + "202507140001"
TERMINAL = "33209211000010314010000"
OTHER = "33209211010000314020000"
AT = datetime(2025, 7, 14, 10, 0, 6, tzinfo=TZ)


def _report(**changes: object) -> ebd.Ebd:
    values: dict[str, object] = {
        "ebm_id": EBM,
        "code": ebd_state.PLAYED,
        "source_ebrid": PLATFORM,
        "dest_ebrid": SOURCE,
        "sequence": 7,
        "created": AT,
    }
    values.update(changes)
    return ebd_read.parse_ebd(ebd_state.build_state_response(**values)[1])  # type: ignore[arg-type]


def _edited(xml_old: str, xml_new: str, **changes: object) -> ebd.Ebd:
    """A report whose EBDB text had `xml_old` replaced (the tar is rebuilt, unsigned)."""
    parsed = _report(**changes)
    text = parsed.ebdb.decode()
    assert xml_old in text

    return dataclasses.replace(parsed, ebdb=text.replace(xml_old, xml_new).encode())


def test_a_heartbeat_has_type_code_01_and_no_sequence_nor_signature() -> None:
    name, tar = ebd_state.build_connection_check(
        source_ebrid=SOURCE, dest_ebrid=PLATFORM, created=AT
    )
    parsed = ebd_read.parse_ebd(tar)
    assert parsed.ebd_id == f"01{SOURCE}" + "0" * 16 and name == f"EBDT_{parsed.ebd_id}.tar"
    assert parsed.ebd_type == "ConnectionCheck" and parsed.signature is None
    assert b"<RptTime>2025-07-14 10:00:06</RptTime>" in parsed.ebdb


def test_a_state_request_names_the_ebm_and_is_signed() -> None:
    private, public = ebd_sign.keygen()
    _, tar = ebd_state.build_state_request(
        ebm_id=EBM,
        source_ebrid=SOURCE,
        dest_ebrid=PLATFORM,
        sequence=3,
        created=AT,
        signer=ebd_sign.Signer(private),
    )
    parsed = ebd_read.parse_ebd(tar)
    assert ebd_state.requested_ebm(parsed) == EBM
    ebd_sign.verify(parsed.signature, parsed.ebdb, public)


def test_a_state_request_for_a_malformed_ebmid_is_not_built() -> None:
    with pytest.raises(ValueError, match="35 digits"):
        ebd_state.build_state_request(
            ebm_id="123", source_ebrid=SOURCE, dest_ebrid=PLATFORM, sequence=1, created=AT
        )


def test_a_state_report_reads_back_with_coverage_and_per_terminal_states() -> None:
    parsed = _report(
        code=ebd_state.FAILED,
        related_ebd_id="10" + SOURCE + "0" * 15 + "9",
        coverage_rate=0.5,
        coverage_areas=["320921100001", "320921101000"],
        resources=[ResourceState(TERMINAL, ebd_state.PLAYED), ResourceState(OTHER, None)],
    )
    state = ebd_state.broadcast_state(parsed)
    assert (state.ebm_id, state.code, state.desc) == (EBM, 4, "播发失败")
    assert state.final and state.reported == AT
    assert state.coverage_rate == 0.5
    assert state.coverage_areas == ("320921100001", "320921101000")
    assert state.state_at(TERMINAL) == ebd_state.PLAYED  # its own line
    assert state.state_at(OTHER) == ebd_state.FAILED  # no state of its own: the EBM's
    assert state.state_at("3" * 23) == ebd_state.FAILED


@pytest.mark.parametrize(
    ("code", "final"), [(0, False), (1, False), (2, False), (3, True), (4, True), (5, True)]
)
def test_only_played_failed_and_cancelled_are_final(code: int, final: bool) -> None:
    assert ebd_state.broadcast_state(_report(code=code)).final is final


@pytest.mark.parametrize(("written", "rate"), [("0.9500", 0.95), ("95", 0.95), ("80%", 0.8)])
def test_coverage_rate_is_a_share_or_a_percentage(written: str, rate: float) -> None:
    parsed = _edited(
        "<CoverageRate>0.5000</CoverageRate>",
        f"<CoverageRate>{written}</CoverageRate>",
        coverage_rate=0.5,
    )
    assert ebd_state.broadcast_state(parsed).coverage_rate == pytest.approx(rate)


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ("<BrdStateCode>3</BrdStateCode>", "<BrdStateCode>9</BrdStateCode>", "BrdStateCode"),
        ("<BrdStateCode>3</BrdStateCode>", "", "BrdStateCode is missing"),
        (f"<EBMID>{EBM}</EBMID>", "<EBMID>12</EBMID>", "EBM/EBMID"),
        ("<CoverageRate>0.5000</CoverageRate>", "<CoverageRate>nan</CoverageRate>", "CoverageRate"),
        ("<CoverageRate>0.5000</CoverageRate>", "<CoverageRate>-1</CoverageRate>", "CoverageRate"),
        ("<AreaCode>320921100001</AreaCode>", "<AreaCode>3209</AreaCode>", "AreaCode"),
        ("<RptTime>2025-07-14 10:00:06</RptTime>", "<RptTime>soon</RptTime>", "RptTime"),
    ],
)
def test_a_malformed_state_report_is_refused_as_incomplete(old: str, new: str, says: str) -> None:
    parsed = _edited(old, new, coverage_rate=0.5, coverage_areas=["320921100001"])
    with pytest.raises(ebd.EbdIncomplete, match=says) as refused:
        ebd_state.broadcast_state(parsed)
    assert refused.value.result_code == 3


def test_a_state_report_of_another_type_is_refused() -> None:
    heartbeat = ebd_read.parse_ebd(
        ebd_state.build_connection_check(source_ebrid=SOURCE, dest_ebrid=PLATFORM, created=AT)[1]
    )
    with pytest.raises(ebd.EbdIncomplete, match="not an EBMStateResponse"):
        ebd_state.broadcast_state(heartbeat)


def test_terminal_states_read_back_and_say_who_is_online() -> None:
    _, tar = ebd_state.build_device_states(
        states=[(TERMINAL, ebd_state.RUNNING), (OTHER, ebd_state.FAULT)],
        source_ebrid=PLATFORM,
        dest_ebrid=SOURCE,
        sequence=8,
        created=AT,
    )
    states = ebd_state.device_states(ebd_read.parse_ebd(tar))
    assert [(s.ebrid, s.code, s.online) for s in states] == [
        (TERMINAL, 1, True),
        (OTHER, 3, False),
    ]
    assert states[1].desc == "故障" and states[0].reported == AT


def test_terminal_states_listed_without_the_wrapper_are_read_too() -> None:
    _, tar = ebd_state.build_device_states(
        states=[(TERMINAL, ebd_state.OFF)],
        source_ebrid=PLATFORM,
        dest_ebrid=SOURCE,
        sequence=8,
        created=AT,
    )
    parsed = ebd_read.parse_ebd(tar)
    text = parsed.ebdb.decode().replace("<EBRDT>", "").replace("</EBRDT>", "")

    (state,) = ebd_state.device_states(dataclasses.replace(parsed, ebdb=text.encode()))
    assert (state.ebrid, state.code, state.online) == (TERMINAL, 2, False)


def test_a_terminal_state_outside_1_to_5_is_refused() -> None:
    _, tar = ebd_state.build_device_states(
        states=[(TERMINAL, 1)], source_ebrid=PLATFORM, dest_ebrid=SOURCE, sequence=8, created=AT
    )
    parsed = ebd_read.parse_ebd(tar)

    broken = parsed.ebdb.replace(b"<StateCode>1</StateCode>", b"<StateCode>0</StateCode>")
    with pytest.raises(ebd.EbdIncomplete, match="StateCode"):
        ebd_state.device_states(dataclasses.replace(parsed, ebdb=broken))
