"""`ewb` commands for population, residents, officers and terminals, on a real database."""

from __future__ import annotations

from pathlib import Path

from config.settings import Settings
from ewb.services import Services
from subscribers.residents import CSV_COLUMNS
from tests.integration.cli import ROOT, ewb
from tests.integration.conftest import Api
from tests.integration.flows import ok

HEADER = ",".join(CSV_COLUMNS) + "\n"


async def test_areas_api_marks_sample_figures(api: Api) -> None:
    areas = {a["code"]: a for a in (await ok(api.get("/areas")))["areas"]}
    county = areas["320921"]
    assert county["population_source"] == "sample"
    assert 490_000 <= county["population"] <= 510_000
    towns = [a for a in areas.values() if a["parent_code"] == "320921"]
    assert len(towns) == 11 and sum(t["population"] for t in towns) == county["population"]
    assert areas["320921101E01"]["level"] == "extra"


async def test_real_population_replaces_the_sample(
    api: Api, settings: Settings, tmp_path: Path, services: Services
) -> None:
    csv = tmp_path / "census.csv"
    csv.write_text(
        "code,population,households,source\n"
        "320921101001,4100,1400,census2020\n"
        "320921101002,3900,1300,census2020\n",
        encoding="utf-8",
    )
    result = ewb(settings, "areas", "population", str(csv))
    assert result.returncode == 0, result.stderr
    areas = {a["code"]: a for a in (await ok(api.get("/areas")))["areas"]}
    assert (areas["320921101001"]["population"], areas["320921101001"]["population_source"]) == (
        4100,
        "census2020",
    )
    town = areas["320921101"]
    villages = [
        a for a in areas.values() if a["parent_code"] == "320921101" and a["level"] == "village"
    ]
    assert town["population"] == sum(v["population"] for v in villages)
    assert town["population_source"] == "sample"  # still partly sample figures

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,population,households,source\n320921101001,100,200,census2020\n999,1,1,x\n",
        encoding="utf-8",
    )
    refused = ewb(settings, "areas", "population", str(bad))
    assert refused.returncode == 1
    assert "line 2: need 0 <= households <= population" in refused.stderr
    assert "line 3: unknown area '999'" in refused.stderr
    still = {a["code"]: a for a in (await ok(api.get("/areas")))["areas"]}
    assert still["320921101001"]["population"] == 4100  # nothing was loaded


async def test_residents_import_cli_reports_and_exits_non_zero(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    good = [f"R{n},居民{n},+86139000{n:05d},,zh-CN,320921101001,,sms,blue,0" for n in range(30)]
    bad = [f"X{n},坏行,12345,,zh-CN,320921101001,,,,0" for n in range(25)]
    csv = tmp_path / "people.csv"
    csv.write_text(HEADER + "\n".join(good + bad) + "\n", encoding="utf-8")
    result = ewb(settings, "residents", "import", str(csv))
    assert result.returncode == 1
    assert "55 rows: 30 new, 0 updated, 0 unchanged, 25 refused" in result.stdout
    assert "line 32: phone: phone: not a valid phone number" in result.stderr
    report = tmp_path / "people.errors.csv"
    assert "all 25 refused rows are listed in" in result.stderr and report.is_file()
    assert len(report.read_text(encoding="utf-8").splitlines()) == 26
    assert "importing" in result.stderr  # the progress bar

    clean = tmp_path / "clean.csv"
    clean.write_text(HEADER + "\n".join(good) + "\n", encoding="utf-8")
    rerun = ewb(settings, "residents", "import", str(clean), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert "30 rows: 0 new, 0 updated, 30 unchanged, 0 refused" in rerun.stdout
    assert (await ok(api.get("/residents?limit=1", "admin")))["total"] == 30

    sample = ROOT / "docs" / "residents_sample.csv"
    documented = ewb(settings, "residents", "import", str(sample), "--quiet")
    assert documented.returncode == 0, documented.stderr


async def test_officers_load_and_gaps(api: Api, settings: Settings, tmp_path: Path) -> None:
    before = await ok(api.get("/officers/gaps"))
    assert before["villages"] == 167 and before["count"] == 167  # the test officer is town-wide

    csv = tmp_path / "officers.csv"
    csv.write_text(
        "username,name,phone,wecom_id,areas\n"
        "officer_a,陈平,13912340001,wx_a,320921101001\n"
        "officer_b,周红,13912340002,,320921101002;320921101003\n",
        encoding="utf-8",
    )
    loaded = ewb(settings, "officers", "load", str(csv))
    assert loaded.returncode == 0, loaded.stderr
    after = await ok(api.get("/officers/gaps"))
    assert after["count"] == 164
    assert "320921101001" not in {v["code"] for v in after["villages_without_officer"]}

    gaps = ewb(settings, "officers", "gaps")
    assert gaps.returncode == 1
    assert "164 of 167 villages have no information officer" in gaps.stderr
    assert "320921101004" in gaps.stdout and "320921101001" not in gaps.stdout

    taken = tmp_path / "taken.csv"
    taken.write_text(
        "username,name,phone,wecom_id,areas\nduty_chief,冒名,13912340003,,320921101004\n",
        encoding="utf-8",
    )
    refused = ewb(settings, "officers", "load", str(taken))
    assert refused.returncode == 1 and "another role" in refused.stderr


async def test_user_add_requires_a_phone_for_an_officer(settings: Settings) -> None:
    missing = ewb(
        settings,
        "user",
        "add",
        "officer_x",
        "--role",
        "info_officer",
        "--org",
        "county",
        "--areas",
        "320921101001",
        "--password-stdin",
        stdin="long-enough-password\n",
    )
    assert missing.returncode == 1 and "--phone" in missing.stderr
    added = ewb(
        settings,
        "user",
        "add",
        "officer_x",
        "--role",
        "info_officer",
        "--org",
        "county",
        "--areas",
        "320921101001",
        "--phone",
        "139 1234 0009",
        "--full-name",
        "孙磊",
        "--password-stdin",
        stdin="long-enough-password\n",
    )
    assert added.returncode == 0, added.stderr


async def test_terminals_load(api: Api, settings: Settings) -> None:
    sample = ROOT / "config" / "terminals_sample.csv"
    loaded = ewb(settings, "terminals", "load", str(sample))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded 190 terminals" in loaded.stdout
    harbour = (await ok(api.get("/terminals?area=320921101E02")))["terminals"]
    assert len(harbour) == 2 and all(t["covered_population"] == 1200 for t in harbour)
    county = (await ok(api.get("/terminals")))["terminals"]
    assert len(county) == 190
    assert sum(1 for t in county if t["status"] == "offline") == 6
