"""Generate the SAMPLE area, population, terminal and officer files for Xiangshui (响水县, 320921).

Every figure, name, phone number and identifier written by this script is a SAMPLE value drawn
from a fixed-seed random generator. None of it is census data, a real register of broadcast
terminals or a real list of disaster-information officers (灾害信息员): the population figures only
follow plausible proportions (county total about 500,000, the county seat the largest town,
urban 居委会/社区 larger than rural villages), and the phone numbers are random mainland mobile
numbers that may belong to real people, so never send messages to them.

Input:  config/xiangshui_divisions.csv (code,name,parent_code,level; county/township/village).
Output (in config/, UTF-8 without BOM, ``\\n`` line endings, sorted):
  extra_areas.csv             two overlapping non-administrative areas under 陈家港镇
  area_population_sample.csv  code,population,households,source for every area
  terminals_sample.csv        broadcast loudspeakers / IP speakers per village
  officers_sample.csv         village disaster-information officers, with deliberate gaps

The output is deterministic (standard library only, fixed seed). Re-run from the project root:

    .venv/bin/python scripts/make_sample_data.py

Re-running overwrites the four files with identical content unless the divisions CSV, the
seed or the rules below change.

Emergency-broadcast resource codes (``endpoint_id``) are 23 digits: resource level ``3``,
the 12-digit area code, resource type ``03``, subtype ``14``, a 2-digit index and the
extension ``0000`` (1 + 12 + 2 + 2 + 2 + 4). The extra areas have no numeric division code,
so their terminals use 陈家港镇's code (320921101000) with indexes that do not collide.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

SEED = 320921
ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config"
DIVISIONS_CSV = CONFIG / "xiangshui_divisions.csv"
EXTRA_CSV = CONFIG / "extra_areas.csv"
POPULATION_CSV = CONFIG / "area_population_sample.csv"
TERMINALS_CSV = CONFIG / "terminals_sample.csv"
OFFICERS_CSV = CONFIG / "officers_sample.csv"

COUNTY = "320921"
SEAT = "320921100"  # 响水镇, the county seat
CHENJIAGANG = "320921101"  # 陈家港镇, coastal
XIAOJIAN = "320921102"  # 小尖镇, coastal
DEV_ZONE = "320921400"  # 县开发区
FARM = "320921401"  # 省属黄海农场
SALT_WORKS = "320921402"  # 省属灌东盐场
PARK = "320921101E01"  # 陈家港化工园区
HARBOUR = "320921101E02"  # 陈家港渔港
EXTRA_AREAS = (
    (PARK, "陈家港化工园区", CHENJIAGANG, "extra"),
    (HARBOUR, "陈家港渔港", CHENJIAGANG, "extra"),
)

# Village population ranges (inclusive), by township; (urban 居委会/社区, rural 村).
# Urban communities stay within 4,000-12,000 and rural villages within 1,200-4,500; the
# state farm, salt works and development zone sit at the bottom of the urban range.
OTHER_TOWN = ((4000, 4800), (1200, 1700))
VILLAGE_RANGES: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    SEAT: ((6500, 9500), (3000, 4000)),
    CHENJIAGANG: ((4200, 6000), (1500, 2600)),
    XIAOJIAN: ((4200, 6000), (1400, 2200)),
    DEV_ZONE: ((4000, 4500), (1200, 1700)),
    FARM: ((4000, 4400), (1200, 1700)),
    SALT_WORKS: ((4000, 4300), (1200, 1700)),
}
COUNTY_TOTAL_RANGE = (490_000, 510_000)
HOUSEHOLD_SIZE = (2.6, 3.3)

TWO_TERMINALS_FROM = 5_000  # village population from which a village gets two terminals
OFFLINE_TERMINALS = 6
HARBOUR_TERMINAL_COVERAGE = 1_200
PARK_TERMINAL_COVERAGE = 6_000
ENDPOINT_LEVEL = "3"
ENDPOINT_TYPE = "0314"  # resource type 03, subtype 14
ENDPOINT_EXTENSION = "0000"
ENDPOINT_LENGTH = 23
# Extra-area terminals: (area, index, covered population); endpoint uses the township code.
EXTRA_TERMINALS = (
    (PARK, 1, PARK_TERMINAL_COVERAGE),
    (HARBOUR, 1, HARBOUR_TERMINAL_COVERAGE),
    (HARBOUR, 2, HARBOUR_TERMINAL_COVERAGE),
)

VILLAGES_WITHOUT_OFFICER = 9
MIN_TOWNSHIPS_WITHOUT_OFFICER = 4
SECOND_OFFICER_FROM = 6_000
WECOM_SHARE = 2 / 3
TOWN_OFFICER = "officer_cjg_town"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙朱胡高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许"
    "傅沈曾彭吕苏卢蒋蔡丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆"
    "郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文海波辉鹏"
    "春梅宁晨宇浩然俊峰雪琳凤云斌亮松林晓燕永庆正兴德福"
)
# Three-digit mobile prefixes that are allocated (phonenumbers refuses 154, for one).
PHONE_PREFIXES = (
    *(str(p) for p in range(130, 140)),
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    *(str(p) for p in range(180, 190)),
)


def is_urban(name: str) -> bool:
    """True for urban residential communities (names ending in 居委会 or 社区)."""
    return name.endswith(("居委会", "社区"))


def read_divisions(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]
    levels = defaultdict(int)
    for row in rows:
        levels[row["level"]] += 1
    assert levels == {"county": 1, "township": 11, "village": 167}, dict(levels)
    return rows


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def endpoint_id(area_code: str, index: int) -> str:
    """A 23-digit emergency-broadcast resource code for terminal `index` of a numeric area."""
    assert area_code.isdigit() and len(area_code) <= 12, area_code
    assert 1 <= index <= 99, index
    code = (
        f"{ENDPOINT_LEVEL}{area_code.ljust(12, '0')}{ENDPOINT_TYPE}{index:02d}{ENDPOINT_EXTENSION}"
    )
    assert len(code) == ENDPOINT_LENGTH and code.isdigit(), code
    return code


def make_population(
    rng: random.Random, divisions: list[dict[str, str]]
) -> dict[str, tuple[int, int]]:
    """code -> (population, households); townships and county are exact sums of their parts."""
    figures: dict[str, tuple[int, int]] = {}
    villages = [r for r in divisions if r["level"] == "village"]
    for v in sorted(villages, key=lambda r: r["code"]):
        urban_range, rural_range = VILLAGE_RANGES.get(v["parent_code"], OTHER_TOWN)
        lo, hi = urban_range if is_urban(v["name"]) else rural_range
        population = rng.randint(lo, hi)
        households = max(1, round(population / rng.uniform(*HOUSEHOLD_SIZE)))
        figures[v["code"]] = (population, households)
    townships = [r["code"] for r in divisions if r["level"] == "township"]
    for t in sorted(townships):
        parts = [figures[v["code"]] for v in villages if v["parent_code"] == t]
        assert parts, f"township {t} has no villages"
        figures[t] = (sum(p for p, _ in parts), sum(h for _, h in parts))
    county = next(r["code"] for r in divisions if r["level"] == "county")
    assert county == COUNTY, county
    figures[county] = (
        sum(figures[t][0] for t in townships),
        sum(figures[t][1] for t in townships),
    )
    lo, hi = COUNTY_TOTAL_RANGE
    assert lo <= figures[county][0] <= hi, f"county total {figures[county][0]} outside {lo}-{hi}"
    assert max(townships, key=lambda t: figures[t][0]) == SEAT, "the county seat must be largest"
    # Extra areas overlap villages: they are never added to a parent's total.
    figures[PARK] = (rng.randint(5_900, 6_100), 0)  # workers present on a weekday
    figures[HARBOUR] = (rng.randint(2_400, 2_600), rng.randint(380, 420))
    return figures


def make_terminals(
    rng: random.Random, divisions: list[dict[str, str]], figures: dict[str, tuple[int, int]]
) -> list[tuple[str, str, str, str, str, str]]:
    """Terminal rows; an empty covered_population shares the area's population equally."""
    # (terminal_id, name, area_code, endpoint_id, covered_population)
    rows: list[tuple[str, str, str, str, str]] = []
    for v in divisions:
        if v["level"] != "village":
            continue
        count = 2 if figures[v["code"]][0] >= TWO_TERMINALS_FROM else 1
        kind = "IP音柱" if is_urban(v["name"]) else "大喇叭"
        for i in range(1, count + 1):
            terminal_id = f"T{v['code']}-{i}"
            rows.append(
                (terminal_id, f"{v['name']}{kind}{i}", v["code"], endpoint_id(v["code"], i), "")
            )
    extra_names = {code: name for code, name, _, _ in EXTRA_AREAS}
    for endpoint_index, (area, i, covered) in enumerate(EXTRA_TERMINALS, start=1):
        name = f"{extra_names[area]}大喇叭{i}"
        rows.append(
            (f"T{area}-{i}", name, area, endpoint_id(CHENJIAGANG, endpoint_index), str(covered))
        )
    rows.sort(key=lambda r: r[0])
    offline = set(rng.sample([r[0] for r in rows], OFFLINE_TERMINALS))
    result = [(*r, "offline" if r[0] in offline else "online") for r in rows]
    assert len({r[0] for r in result}) == len(result), "duplicate terminal_id"
    assert len({r[3] for r in result}) == len(result), "duplicate endpoint_id"
    return result


def make_officers(
    rng: random.Random, divisions: list[dict[str, str]], figures: dict[str, tuple[int, int]]
) -> list[tuple[str, str, str, str, str]]:
    villages = sorted((r for r in divisions if r["level"] == "village"), key=lambda r: r["code"])
    while True:
        gaps = rng.sample(villages, VILLAGES_WITHOUT_OFFICER)
        if len({v["parent_code"] for v in gaps}) >= MIN_TOWNSHIPS_WITHOUT_OFFICER:
            break
    gap_codes = {v["code"] for v in gaps}
    served = [v for v in villages if v["code"] not in gap_codes]
    large = [v["code"] for v in served if figures[v["code"]][0] >= SECOND_OFFICER_FROM]
    second = set(rng.sample(large, len(large) // 2)) if large else set()

    # (username, area codes)
    accounts: list[tuple[str, str]] = []
    for v in served:
        accounts.append((f"officer_{v['code']}", v["code"]))
        if v["code"] in second:
            accounts.append((f"officer_{v['code']}_2", v["code"]))
    accounts.append((TOWN_OFFICER, ";".join((CHENJIAGANG, PARK, HARBOUR))))

    with_wecom = set(rng.sample(range(len(accounts)), round(len(accounts) * WECOM_SHARE)))
    names: set[str] = set()
    phones: set[str] = set()
    rows = []
    for n, (username, areas) in enumerate(accounts):
        while True:
            given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
            name = rng.choice(SURNAMES) + given
            if name not in names:
                names.add(name)
                break
        while True:
            digits = rng.choice(PHONE_PREFIXES) + "".join(rng.choices("0123456789", k=8))
            phone = f"+86{digits}"
            if phone not in phones:
                phones.add(phone)
                break
        wecom = f"wx_{username}" if n in with_wecom else ""
        rows.append((username, name, phone, wecom, areas))
    rows.sort(key=lambda r: r[0])
    return rows


def main() -> None:
    rng = random.Random(SEED)
    divisions = read_divisions(DIVISIONS_CSV)
    codes = {r["code"] for r in divisions}
    assert CHENJIAGANG in codes and not {PARK, HARBOUR} & codes

    figures = make_population(rng, divisions)
    terminals = make_terminals(rng, divisions, figures)
    officers = make_officers(rng, divisions, figures)

    write_csv(EXTRA_CSV, ("code", "name", "parent_code", "level"), sorted(EXTRA_AREAS))
    write_csv(
        POPULATION_CSV,
        ("code", "population", "households", "source"),
        ((code, p, h, "sample") for code, (p, h) in sorted(figures.items())),
    )
    write_csv(
        TERMINALS_CSV,
        ("terminal_id", "name", "area_code", "endpoint_id", "covered_population", "status"),
        terminals,
    )
    write_csv(OFFICERS_CSV, ("username", "name", "phone", "wecom_id", "areas"), officers)
    print(
        f"wrote {len(EXTRA_AREAS)} extra areas, {len(figures)} population rows, "
        f"{len(terminals)} terminals, {len(officers)} officers; "
        f"county population {figures[COUNTY][0]:,} (sample)"
    )


if __name__ == "__main__":
    main()
