"""WeChat/WeCom answers → SendResult, written out from the providers' errcode lists."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

from channels.base import Alert, Message, Outcome
from channels.wechat import (
    WechatAdapter,
    WecomAdapter,
    template_data,
    template_result,
    wecom_calls,
    wecom_content,
    wecom_results,
)
from tests.support import NOW

R, P, A = Outcome.RETRYABLE, Outcome.PERMANENT, Outcome.ACCEPTED

# (answer of template/send, outcome, code, provider id, retry_after)
TEMPLATE_ANSWERS: list[tuple[dict[str, Any], Outcome, str | None, str | None, float | None]] = [
    ({"errcode": 0, "errmsg": "ok", "msgid": 200228332}, A, None, "200228332", None),
    ({"errcode": 43004, "errmsg": "require subscribe"}, P, "43004", None, None),
    ({"errcode": 40003, "errmsg": "invalid openid"}, P, "40003", None, None),
    ({"errcode": 47003, "errmsg": "argument invalid!"}, P, "47003", None, None),
    ({"errcode": 43019, "errmsg": "require remove blacklist"}, P, "43019", None, None),
    ({"errcode": 45009, "errmsg": "reach max api daily quota limit"}, R, "45009", None, 60),
    ({"errcode": 45047, "errmsg": "out of response count limit"}, R, "45047", None, 60),
    ({"errcode": 45033, "errmsg": "api concurrent out of limit"}, R, "45033", None, 60),
    ({"errcode": -1, "errmsg": "system error"}, R, "-1", None, None),
    # The account's configuration, not the resident: retryable, never "unreachable".
    ({"errcode": 40037, "errmsg": "invalid template_id"}, R, "40037", None, 60),
    ({"errcode": 48001, "errmsg": "api unauthorized"}, R, "48001", None, 60),
    ({"errcode": 40164, "errmsg": "invalid ip, not in whitelist"}, R, "40164", None, 60),
    # Token errors only reach the mapping when a refresh did not help.
    ({"errcode": 40001, "errmsg": "invalid credential"}, R, "token_rejected", None, None),
    ({"errcode": 42001, "errmsg": "access_token expired"}, R, "token_rejected", None, None),
    # Not a WeChat answer at all.
    ({}, R, "bad_response", None, None),
    ({"errcode": "0"}, R, "bad_response", None, None),
]


@pytest.mark.parametrize(
    ("answer", "outcome", "code", "provider_id", "retry_after"),
    TEMPLATE_ANSWERS,
    ids=[str(row[0].get("errcode", "none")) for row in TEMPLATE_ANSWERS],
)
def test_template_answer(
    answer: dict[str, Any],
    outcome: Outcome,
    code: str | None,
    provider_id: str | None,
    retry_after: float | None,
) -> None:
    result = template_result(42, answer)
    assert result.delivery_id == 42
    assert (result.outcome, result.code, result.provider_id) == (outcome, code, provider_id)
    assert result.retry_after == retry_after
    if outcome is not A:
        assert result.detail  # always says why


def test_unfollowed_resident_is_explained() -> None:
    result = template_result(1, {"errcode": 43004, "errmsg": "require subscribe rid: 1"})
    assert (
        result.detail
        == "the resident does not follow the Official Account: require subscribe rid: 1"
    )


OFFICERS = (Message(1, "Alice.W", "t"), Message(2, "bob", "t"), Message(3, "Ghost", "t"))

# (answer of message/send, expected (outcome, code, provider id) per officer)
WECOM_ANSWERS: list[tuple[str, dict[str, Any], list[tuple[Outcome, str | None, str | None]]]] = [
    (
        "all-taken",
        {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "m1"},
        [(A, None, "m1"), (A, None, "m1"), (A, None, "m1")],
    ),
    (
        "no-invaliduser-field",
        {"errcode": 0, "errmsg": "ok", "msgid": "m1"},
        [(A, None, "m1"), (A, None, "m1"), (A, None, "m1")],
    ),
    (
        "one-invalid-lowercased",
        {"errcode": 0, "errmsg": "ok", "invaliduser": "ghost", "msgid": "m1"},
        [(A, None, "m1"), (A, None, "m1"), (P, "invaliduser", None)],
    ),
    (
        "two-invalid",
        {"errcode": 0, "errmsg": "ok", "invaliduser": "alice.w|ghost", "msgid": "m1"},
        [(P, "invaliduser", None), (A, None, "m1"), (P, "invaliduser", None)],
    ),
    (
        "all-invalid",
        {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": "ghost"},
        [(P, "81013", None)] * 3,
    ),
    (
        "rate-limited",
        {"errcode": 45009, "errmsg": "api freq out of limit"},
        [(R, "45009", None)] * 3,
    ),
    ("busy", {"errcode": -1, "errmsg": "system busy"}, [(R, "-1", None)] * 3),
    ("bad-agentid", {"errcode": 40056, "errmsg": "invalid agentid"}, [(R, "40056", None)] * 3),
    (
        "content-too-long",
        {"errcode": 45002, "errmsg": "content size out of limit"},
        [(P, "45002", None)] * 3,
    ),
    ("not-wecom", {"ok": True}, [(R, "bad_response", None)] * 3),
]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [row[1:] for row in WECOM_ANSWERS],
    ids=[row[0] for row in WECOM_ANSWERS],
)
def test_wecom_answer(
    answer: dict[str, Any], expected: list[tuple[Outcome, str | None, str | None]]
) -> None:
    results = wecom_results(OFFICERS, answer)
    assert [r.delivery_id for r in results] == [1, 2, 3]
    assert [(r.outcome, r.code, r.provider_id) for r in results] == expected


def _sizes(messages: list[Message]) -> list[int]:
    return [len(members) for _, members in wecom_calls(list(enumerate(messages)))]


def test_wecom_calls_carry_at_most_1000_users() -> None:
    assert _sizes([Message(i, f"u{i}", "t") for i in range(2500)]) == [1000, 1000, 500]


def test_wecom_calls_never_carry_a_user_twice() -> None:
    messages = [Message(1, "Bob", "t"), Message(2, "alice", "t"), Message(3, "BOB", "t")]
    calls = wecom_calls(list(enumerate(messages)))
    assert [[i for i, _ in members] for _, members in calls] == [[0, 1], [2]]


def test_wecom_calls_group_by_content() -> None:
    messages = [
        Message(1, "a", "台风", "红色"),
        Message(2, "b", "台风", "橙色"),
        Message(3, "c", "台风", "红色"),
    ]
    calls = wecom_calls(list(enumerate(messages)))
    assert [(content, [i for i, _ in m]) for content, m in calls] == [
        ("红色\n台风", [0, 2]),
        ("橙色\n台风", [1]),
    ]


def test_template_data_without_alert_or_title() -> None:
    assert template_data(Message(1, "o", "text"), None) == {"keyword4": "text"}
    alert = Alert(7, 1, "11B01", 4, "响水县气象台", "320921", NOW, NOW, NOW)
    assert template_data(Message(1, "o", "text", "title"), alert) == {
        "first": "title",
        "keyword1": "title",  # WeChat no longer shows "first"
        "keyword2": "响水县气象台",
        "keyword3": "2026-07-28 08:00",
        "keyword4": "text",
    }


def test_template_time_is_the_countys_whatever_zone_the_alert_uses() -> None:
    utc = NOW.astimezone(UTC)
    alert = Alert(7, 1, "11B01", 4, "响水县气象台", "320921", utc, utc, utc)
    assert template_data(Message(1, "o", "t"), alert)["keyword3"] == "2026-07-28 08:00"


def test_labels_are_clipped_to_fit_the_text_never() -> None:
    alert = Alert(7, 1, "11B01", 4, "局" * 300, "320921", NOW, NOW, NOW)
    data = template_data(Message(1, "o", "风" * 200, "题" * 201), alert)
    assert data["first"] == data["keyword1"] == "题" * 199 + "…"
    assert data["keyword2"] == "局" * 199 + "…"
    assert data["keyword4"] == "风" * 200


def test_template_values_are_one_line() -> None:
    # WeChat shows nothing of a value after its first line break.
    data = template_data(Message(1, "o", "渔船回港\n居民转移", "台风\r\n红色预警"), None)
    assert (data["keyword1"], data["keyword4"]) == ("台风 红色预警", "渔船回港 居民转移")


def test_wecom_title_is_left_out_when_title_and_text_would_not_fit() -> None:
    fits = "风" * 682  # 2,046 bytes
    assert wecom_content(Message(1, "u", "风" * 10, "台风")) == "台风\n" + "风" * 10
    assert wecom_content(Message(1, "u", fits, "台风")) == fits
    assert wecom_content(Message(1, "u", fits)) == fits


def test_declared_limits() -> None:
    assert (WechatAdapter.channel, WechatAdapter.max_body) == ("wechat", 200)
    assert (WecomAdapter.channel, WecomAdapter.max_body) == ("wecom", 682)
    assert WechatAdapter.messages_per_second > 0 and WecomAdapter.messages_per_second > 0
