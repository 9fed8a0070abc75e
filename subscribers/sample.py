"""Generated sample residents (not real people) for the demo and the benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from subscribers.residents import CSV_COLUMNS

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌海波鹏飞宇浩然"
    "欣怡子涵梓轩雨桐诗琪晨阳佳琪嘉豪思远俊杰"
)
_COASTAL_TOWNS = ("320921101", "320921102", "320921105")  # 陈家港镇, 小尖镇, 双港镇
_CHEMICAL_TOWN = "320921101"
# Mainland mobile prefixes that phonenumbers accepts (154, for one, is not allocated).
_MOBILE_PREFIXES = (*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190))


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(_SURNAMES) + given


def _openid(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "o" + "".join(rng.choices(alphabet, k=27))


def _groups(rng: random.Random, village: str, english: bool) -> list[str]:
    coastal = village.startswith(_COASTAL_TOWNS)
    draws = [
        ("elderly", 0.20),
        ("school", 0.12),
        ("fisherman", 0.15 if coastal else 0.01),
        ("chemical_park", 0.06 if village.startswith(_CHEMICAL_TOWN) else 0.0),
        ("disabled", 0.02),
        ("hearing_impaired", 0.01),
        ("tourist", 0.005),
    ]
    groups = [g for g, p in draws if rng.random() < p]
    if english:
        groups.append("non_chinese_speaker")
    return groups


def sample_rows(
    villages: Sequence[tuple[str, int]], count: int, seed: int = 320921
) -> Iterator[list[str]]:
    """`count` CSV rows (without header) spread over villages in proportion to population."""
    rng = random.Random(seed)
    codes = [code for code, _ in villages]
    weights = [max(population, 1) for _, population in villages]
    phones: set[int] = set()
    for n in range(1, count + 1):
        village = rng.choices(codes, weights)[0]
        english = rng.random() < 0.02
        while (phone := rng.choice(_MOBILE_PREFIXES) * 10**8 + rng.randrange(10**8)) in phones:
            pass
        phones.add(phone)
        openid = _openid(rng) if rng.random() < 0.6 else ""
        contact = rng.random()
        if contact < 0.03:  # no personal channel: reached by loudspeaker and officers only
            phone_text, openid = "", ""
        elif contact < 0.05 and openid:  # WeChat only
            phone_text = ""
        else:
            phone_text = f"+86{phone}"
        order = rng.choices(("sms;wechat", "wechat;sms", "sms"), (60, 25, 15))[0]
        grade = rng.choices(("blue", "yellow", "orange"), (80, 15, 5))[0]
        yield [
            f"R{n:07d}",
            _name(rng),
            phone_text,
            openid,
            "en" if english else "zh-CN",
            village,
            ";".join(_groups(rng, village, english)),
            order,
            grade,
            "1" if rng.random() < 0.01 else "0",
        ]


HEADER = list(CSV_COLUMNS)
