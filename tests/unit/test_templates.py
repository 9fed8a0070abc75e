"""Messages per channel: every hazard × grade × channel × locale renders within limits."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from templates import sms_length
from templates.names import english_name
from templates.preview import blocking, preview
from templates.render import CHANNELS, Options, render
from templates.spoken import chinese_number, for_the_ear
from tests.support import NOW, actor, draft_body, rules
from warning import commands
from warning.actors import Role
from warning.areas import Area, AreaTree
from warning.catalog import LOCALES
from warning.model import Warning

RULES = rules()
FORECASTER = actor("zhang", Role.FORECASTER)
CHIEF = actor("zhou", Role.DUTY_CHIEF)
LEADER = actor("li", Role.LEADER)
OPTIONS = Options(sms_max_segments=4, broadcast_repeats={"red": 3, "orange": 2})
CASES = [(hazard.id, grade) for hazard in RULES.catalog.hazards.values() for grade in hazard.grades]
ALL_GROUPS = tuple(RULES.catalog.groups)


def drafted(hazard: str, grade: str, **overrides: object) -> Warning:
    org = RULES.catalog.hazard(hazard).org
    warning, _ = commands.draft(
        draft_body(hazard=hazard, grade=grade, **overrides),
        actor("zhang", Role.FORECASTER, org),
        RULES,
        NOW,
    )
    return warning


@pytest.mark.parametrize(("hazard", "grade"), CASES, ids=[f"{h}-{g.value}" for h, g in CASES])
def test_every_message_renders_within_its_limits(hazard: str, grade: object) -> None:
    warning = drafted(hazard, grade.value, groups=["fisherman", "elderly"])  # type: ignore[attr-defined]
    messages = preview(warning, warning.latest, RULES, NOW, OPTIONS)
    assert len(messages) == len(CHANNELS) * len(LOCALES) * 3
    assert blocking(messages) == []
    for m in messages:
        assert m.text.strip() and m.title.strip()
        zh = m.locale == "zh-CN"
        grade_word = grade.name_zh if zh else grade.name_en  # type: ignore[attr-defined]
        if m.channel != "broadcast":
            assert grade_word in m.title + m.text, (m.channel, m.locale)  # colour as a word
        assert "{{" not in m.text and "None" not in m.text


def test_sms_names_office_hazard_grade_areas_time_meaning_and_action() -> None:
    warning = drafted("typhoon", "red", groups=["fisherman"])
    sms = render(warning, warning.latest, "sms", "zh-CN", ("fisherman",), RULES, NOW, OPTIONS)
    for part in (
        "【响水县气象台】",
        "台风红色预警信号",
        "陈家港镇",
        "响水镇",
        "7月28日8时",
        "平均风力达12级以上",
        "回港避风",
        "立即上岸",
    ):
        assert part in sms.text
    assert sms_length.segments(sms.text) <= 4
    english = render(warning, warning.latest, "sms", "en", (), RULES, NOW, OPTIONS)
    assert "Red typhoon warning" in english.text and "Chenjiagang Town" in english.text
    assert sms_length.is_gsm7(english.text)


def test_sms_drops_guidance_items_to_fit_and_points_to_wechat() -> None:
    warning = drafted("typhoon", "red")
    tight = render(
        warning, warning.latest, "sms", "zh-CN", (), RULES, NOW, Options(sms_max_segments=3)
    )
    roomy = render(
        warning, warning.latest, "sms", "zh-CN", (), RULES, NOW, Options(sms_max_segments=10)
    )
    assert sms_length.segments(tight.text) <= 3
    assert "（详见微信）" in tight.text and "（详见微信）" not in roomy.text
    assert len(roomy.text) > len(tight.text)
    assert "政府及相关部门" not in roomy.text  # items for the authorities stay out of SMS


def test_group_instructions_are_appended_only_for_that_group() -> None:
    warning = drafted("typhoon", "orange", groups=["fisherman"])
    fishermen = render(warning, warning.latest, "wechat", "zh-CN", ("fisherman",), RULES, NOW)
    everyone = render(warning, warning.latest, "wechat", "zh-CN", (), RULES, NOW)
    assert "立即回港避风" in fishermen.text and "立即回港避风" not in everyone.text


def test_broadcast_is_written_for_the_ear_and_repeated_by_grade() -> None:
    warning = drafted("typhoon", "red", description="风力12级，详见 https://example.org/t")
    spoken = render(warning, warning.latest, "broadcast", "zh-CN", (), RULES, NOW, OPTIONS)
    assert "http" not in spoken.text and "12" not in spoken.text and "十二级" in spoken.text
    assert spoken.text.count("重复一遍。") == 2  # three times for red
    assert spoken.text.startswith("台风预警，台风预警。")  # typhoon.j2 replaces default.j2
    blue = drafted("rainstorm", "blue")
    once = render(blue, blue.latest, "broadcast", "zh-CN", (), RULES, NOW, OPTIONS)
    assert "重复一遍" not in once.text and once.text.startswith("各位群众请注意")


def test_update_and_escalation_say_what_changed() -> None:
    warning = drafted("typhoon", "yellow")
    commands.submit(warning, FORECASTER, RULES, NOW)
    commands.approve(warning, CHIEF, RULES, NOW)
    commands.issue(warning, CHIEF, RULES, NOW, sequence=1)
    commands.revise(
        warning,
        "escalate",
        {
            "grade": "orange",
            "areas": ["320921101", "320921102"],
            "expires": (NOW + timedelta(days=2)).isoformat(),
        },
        FORECASTER,
        RULES,
        NOW,
    )
    for locale, expected in (
        (
            "zh-CN",
            (
                "级别由黄色调整为橙色",
                "新增影响区域：小尖镇",
                "不再影响：响水镇",
                "有效期改至7月30日8时",
            ),
        ),
        (
            "en",
            (
                "level changed from Yellow to Orange",
                "now also Xiaojian Town",
                "no longer Xiangshui Town",
            ),
        ),
    ):
        text = render(warning, warning.latest, "wechat", locale, (), RULES, NOW).text
        for part in expected:
            assert part in text, (locale, part, text)


def test_cancel_messages_say_the_warning_is_lifted() -> None:
    warning = drafted("typhoon", "orange")
    commands.submit(warning, FORECASTER, RULES, NOW)
    commands.approve(warning, CHIEF, RULES, NOW)
    commands.approve(warning, LEADER, RULES, NOW)
    commands.issue(warning, CHIEF, RULES, NOW, sequence=1)
    commands.revise(warning, "cancel", {}, FORECASTER, RULES, NOW)
    sms = render(warning, warning.latest, "sms", "zh-CN", (), RULES, NOW).text
    assert "解除台风橙色预警信号" in sms
    officer = render(warning, warning.latest, "officer", "zh-CN", (), RULES, NOW).text
    assert "预警已解除" in officer


def test_exercise_messages_are_labelled_on_every_channel() -> None:
    warning = drafted("rainstorm", "blue", mode="exercise")
    for channel, locale in itertools.product(CHANNELS, LOCALES):
        text = render(warning, warning.latest, channel, locale, (), RULES, NOW).text
        label = {"zh-CN": ("【演练】", "演练信息"), "en": ("[EXERCISE]", "This is an exercise")}
        assert any(mark in text for mark in label[locale]), (channel, locale)


def test_a_message_over_the_limit_is_reported() -> None:
    towns = [code for code in RULES.areas.codes() if RULES.areas.level(code) == "township"]
    warning = drafted("rainstorm", "blue", headline="暴雨" * 100, areas=towns)
    problems = blocking(preview(warning, warning.latest, RULES, NOW, OPTIONS))
    assert any(p.startswith("officer (zh-CN)") and "SMS needs 5 segments" in p for p in problems), (
        problems
    )


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("中" * 134, 2),
        ("中" * 135, 3),
        ("a" * 159 + "中", 3),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
    ],
    ids=[
        "empty",
        "gsm-160",
        "gsm-161",
        "gsm-306",
        "gsm-307",
        "extension-80",
        "extension-81",
        "ucs2-70",
        "ucs2-71",
        "ucs2-134",
        "ucs2-135",
        "one-chinese-char-turns-ucs2",
        "emoji-35",
        "emoji-36",
    ],
)
def test_sms_segments_are_counted_as_carriers_do(text: str, segments: int) -> None:
    assert sms_length.segments(text) == segments


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (12, "十二"),
        (20, "二十"),
        (105, "一百零五"),
        (110, "一百一十"),
        (200, "两百"),
        (2000, "两千"),
        (2026, "两千零二十六"),
    ],
)
def test_numbers_are_read_as_words(number: int, spoken: str) -> None:
    assert chinese_number(number) == spoken


def test_for_the_ear_reads_years_digit_by_digit_and_drops_urls() -> None:
    assert (
        for_the_ear("2026年7月28日，雨量100毫米 www.example.org", "zh-CN")
        == "二零二六年七月二十八日，雨量一百毫米"
    )
    assert for_the_ear("Wind force 12, see https://x.org", "en") == "Wind force 12, see"


@pytest.mark.parametrize(
    ("name", "english"),
    [
        ("陈家港镇", "Chenjiagang Town"),
        ("东园居委会", "Dongyuan Community"),
        ("三河村委会", "Sanhe Village"),
        ("陈家港渔港", "Chenjiagang Fishing Port"),
        ("省属黄海农场", "Huanghai Farm"),
        ("县开发区", "County Development Zone"),
    ],
)
def test_place_names_in_english(name: str, english: str) -> None:
    assert english_name(name) == english


def test_the_area_tree_carries_the_english_names() -> None:
    tree = RULES.areas  # built from the divisions CSV, as the database's tree is
    assert (tree.name("320921101"), tree.name_en("320921101")) == ("陈家港镇", "Chenjiagang Town")
    assert tree.name_en("320921") == "Xiangshui County"
    bare = AreaTree([Area("X1", "某地", None, "county")])  # nobody gave it an English name
    assert (bare.name_en("X1"), bare.name_en("X2")) == ("某地", "X2")
