"""Console reports: the period's indicators and each warning's coverage report, as the
reports and coverage API compute them; information officers are refused."""

from __future__ import annotations

import re

from ewb.services import Services
from tests.integration.conftest import Api, FakeClock
from tests.integration.console import Session, sign_in
from tests.integration.flows import draft, issue_new, ok
from tests.integration.test_coverage import A, C, issue_and_record


def pct(value: float) -> str:
    """As the pages print a share."""
    return f"{value * 100:.1f} %"


async def headers_of(session: Session, path: str) -> tuple[int, dict[str, str]]:
    async with session.client.get(
        path, headers={"Cookie": session.cookie}, allow_redirects=False
    ) as response:
        await response.read()
        found = dict(response.headers)
    session.client.session.cookie_jar.clear()
    return response.status, found


async def test_the_kpi_page_shows_the_periods_indicators_and_warnings(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    exercise = await issue_new(api, grade="red", areas=[C], mode="exercise")
    kpis = await ok(api.get("/reports/kpi?from=2026-07-28&to=2026-07-29", "leader"))
    public, broadcast = kpis["indicators"]
    [row] = kpis["warnings"]

    for user in ("leader", "forecaster", "duty_chief", "admin"):
        session = await sign_in(api.client, user)
        page = await session.get("/console/reports?from=2026-07-28&to=2026-07-29")
        assert page.status == 200, (user, page.text)
    text = page.text
    assert "预警信息公众覆盖率" in text and "应急广播覆盖率" in text
    assert pct(public["value"]) in text and pct(broadcast["value"]) in text
    assert "≥ 95 %" in text and "≥ 90 %" in text
    indicators = text.split("<caption>", 1)[1].split("</table>", 1)[0]
    assert public["met"] is False and indicators.count("未达标 Not met") == 2
    assert 'class="unmet"' in indicators
    # The period's warnings: the actual one with its county figures; not the exercise.
    link = f'href="/console/warnings/{warning_id}/report?version=1"'
    assert link in text and f"/console/warnings/{exercise['id']}/report" not in text
    assert "台风红色预警" in text and 'class="grade grade-red"' in text
    assert pct(row["estimated"]) in text and "2026-07-28 08:00" in text
    assert "【演练】" not in text

    # Default period: this year so far, which includes this morning.
    default = await session.get("/console/reports")
    assert default.status == 200 and link in default.text
    assert 'value="2026-01-01"' in default.text
    # A later period has no warning and no figures.
    later = await session.get("/console/reports?from=2026-07-29&to=2026-07-30")
    assert later.status == 200 and link not in later.text
    assert "此期间没有发布实际预警" in later.text and "无数据 No data" in later.text


async def test_bad_dates_re_render_the_form_with_the_message(api: Api) -> None:
    chief = await sign_in(api.client, "duty_chief")
    garbled = await chief.get("/console/reports?from=yesterday")
    assert garbled.status == 422
    assert "from must be a date" in garbled.text and 'role="alert"' in garbled.text
    assert 'name="from"' in garbled.text and 'value="yesterday"' in garbled.text
    assert re.search(r'id="from"[^>]*aria-invalid="true"', garbled.text)
    backwards = await chief.get("/console/reports?from=2026-07-29&to=2026-07-28")
    assert backwards.status == 422 and "to must be after from" in backwards.text


async def test_information_officers_and_strangers_cannot_read_reports(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    officer = await sign_in(api.client, "officer")
    for path in ("/console/reports", f"/console/warnings/{warning_id}/report"):
        refused = await officer.get(path)
        assert refused.status == 403, path
        assert "不允许 Not allowed" in refused.text and "海安" not in refused.text
        anonymous = await Session(api.client).request("GET", path)
        assert anonymous.status == 303 and anonymous.location
        assert anonymous.location.startswith("/console/login?next=")


async def test_the_warning_report_is_the_full_coverage_document(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    coverage = await ok(api.get(f"/warnings/{warning_id}/coverage"))
    leader = await sign_in(api.client, "leader")
    page = await leader.get(f"/console/warnings/{warning_id}/report")
    assert page.status == 200
    text = page.text
    assert '<html lang="zh-CN">' in text and 'href="/console"' in text
    assert "预警覆盖报告" in text and text.count("<svg") == 2
    for town in coverage["towns"]:  # 陈家港镇 below target, 响水镇 covered
        assert f'<td class="name">{town["name"]}</td>' in text
    by_name = {t["name"]: t for t in coverage["towns"]}
    assert f"{by_name['陈家港镇']['estimated'] * 100:.1f}%" in text
    assert "海安" in text and "大湾居委会" in text  # villages and the gap list
    status, headers = await headers_of(leader, f"/console/warnings/{warning_id}/report")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    policy = headers["Content-Security-Policy"]  # its styles are inline; it runs no script
    assert "style-src 'unsafe-inline'" in policy and "default-src 'none'" in policy
    assert "script-src" not in policy and "frame-ancestors 'none'" in policy

    same = await leader.get(f"/console/warnings/{warning_id}/report?version=1")
    assert same.status == 200 and "第 1 版" in same.text
    assert A in same.text


async def test_the_warning_report_answers_like_the_coverage_api_for_what_has_none(
    api: Api, services: Services, clock: FakeClock
) -> None:
    warning_id, _ = await issue_and_record(api, services, clock)
    drafted = await draft(api)
    chief = await sign_in(api.client, "duty_chief")
    cases = [
        ("/console/warnings/999999/report", "/warnings/999999/coverage", 404),
        (f"/console/warnings/{warning_id}/report?version=2", None, 404),
        (f"/console/warnings/{drafted['id']}/report", None, 409),  # never issued
        (f"/console/warnings/{warning_id}/report?version=x", None, 422),
    ]
    for path, api_path, status in cases:
        page = await chief.get(path)
        assert page.status == status, (path, page.text)
        assert '<html lang="zh-CN">' in page.text and 'role="alert"' in page.text
        same = api_path or path.replace("/console", "").replace("/report", "/coverage")
        assert (await api.get(same)).status == status, same
