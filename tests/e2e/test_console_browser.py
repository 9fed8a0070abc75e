"""The console and the public page in a real browser, as the people who use them.

`make run`'s set-up on a fresh SQLite database, `ewb serve` and `ewb sim` (the SMS,
WeChat and broadcast simulators) in their own processes; each person signs in in their
own browser context. A forecaster drafts a red typhoon warning for 陈家港镇 for the
fishermen, the duty chief and the leader approve it, the duty chief issues it, the live
page reaches 100 % accepted with the coverage per town, the village officer files a relay
report on a phone-sized screen, the public page and the Atom feed list the warning, and
a cancel removes it. Every page is checked with axe-core (vendored) for serious
accessibility violations. Screenshots of each step go to tests/e2e/artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_serve import MAKE_RUN_STEPS, ROOT, _ewb, _free_port
from tests.support import TZ

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHENJIAGANG = "320921101"
TIMEOUT_MS = 20_000


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}: {log.read_text()}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run`'s set-up, then `ewb sim` and `ewb serve` with the limits lifted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EWB_")}
    var = tmp_path_factory.mktemp("var")
    port = _free_port()
    env.update(
        EWB_VAR_DIR=str(var),
        EWB_PORT=str(port),
        EWB_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        EWB_SIM_TWILIO_PORT=str(_free_port()),
        EWB_SIM_WECHAT_PORT=str(_free_port()),
        EWB_SIM_BROADCAST_PORT=str(_free_port()),
        EWB_RATE_LIMITS=json.dumps({"sms": 1e6, "wechat": 1e6, "wecom": 1e6, "broadcast": 1e6}),
        EWB_RED_REPEAT_MINUTES="0",
        EWB_GAP_CHECK_MINUTES="0",
    )
    for step in MAKE_RUN_STEPS:
        _ewb(env, *step)
    processes = []
    for name, command in (("sim", "sim"), ("serve", "serve")):
        log = var / f"{name}.log"
        with log.open("w") as out:
            processes.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-m", "ewb", command],
                        env=env,
                        cwd=ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    ),
                    log,
                )
            )
    _wait_for_port(int(env["EWB_SIM_BROADCAST_PORT"]), *processes[0])
    _wait_for_port(port, *processes[1])
    yield f"http://127.0.0.1:{port}"
    for process, _ in processes:
        process.send_signal(signal.SIGINT)
    (sim, _), (serve, serve_log) = processes
    assert serve.wait(timeout=20) == 0, serve_log.read_text()
    sim.wait(timeout=20)  # the simulators stop on Ctrl-C with Python's own exit status


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_serious_violations(page: Page) -> None:
    """axe-core on the page as it is: no serious or critical WCAG 2 A/AA violation."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "([c, o]) => axe.run(c || document, o)",
        [None, {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}],
    )
    serious = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, f"{page.url}: {serious}"


def person(browser: Browser, site: str, username: str, **options: object) -> Page:
    """A browser context of its own for one person, signed in with the keyboard."""
    context: BrowserContext = browser.new_context(
        base_url=site, bypass_csp=True, locale="zh-CN", **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/console/login")
    page.get_by_label("用户名 Username").fill(username)
    page.get_by_label("密码 Password").fill(f"ewb-{username}")
    page.get_by_label("密码 Password").press("Enter")
    page.wait_for_url("**/console/**")
    return page


def test_a_red_typhoon_warning_from_draft_to_cancel(browser: Browser, site: str) -> None:
    # --- the forecaster drafts, sees the preview and audience, submits --------------
    forecaster = person(browser, site, "forecaster")
    no_serious_violations(forecaster)
    forecaster.goto("/console/warnings/new")
    forecaster.get_by_label("灾种 Hazard").select_option("typhoon")
    forecaster.locator("#grade-red").check()
    forecaster.locator(f"#area-{CHENJIAGANG}").check()
    forecaster.locator("#group-fisherman").check()
    onset = datetime.now(TZ).replace(second=0, microsecond=0) + timedelta(minutes=10)
    forecaster.get_by_label("生效 Onset").fill(onset.strftime("%Y-%m-%dT%H:%M"))
    forecaster.get_by_label("失效 Expires").fill(
        (onset + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M")
    )
    preview = forecaster.locator("#preview")
    expect(preview.locator("#audience-people")).to_be_visible()
    expect(preview).to_contain_text("sms · zh-CN")
    expect(preview).to_contain_text("broadcast · zh-CN")
    expect(forecaster.locator("#headline_zh")).to_have_value("响水县气象台发布台风红色预警信号")
    people = int(preview.locator("#audience-people").inner_text().replace(",", ""))
    assert people > 0
    shot(forecaster, "01-forecaster-draft-preview")
    no_serious_violations(forecaster)
    forecaster.get_by_role("button", name="保存并提交审批 Save and submit").click()
    expect(forecaster.locator("#state")).to_contain_text("submitted")
    warning_url = forecaster.url
    warning_id = int(warning_url.rstrip("/").rsplit("/", 1)[1])
    expect(forecaster.get_by_role("button", name="批准 Approve")).to_have_count(0)
    shot(forecaster, "02-forecaster-submitted")

    # --- a forecaster has no approvals page: the refusal, not the page ---------------
    refused = forecaster.goto("/console/approvals")
    assert refused is not None and refused.status == 403
    expect(forecaster.locator("h1")).to_contain_text("不允许 Not allowed")

    # --- the duty chief and the leader approve in their own sessions -----------------
    for step, username in enumerate(("duty_chief", "leader"), start=3):
        approver = person(browser, site, username)
        approver.goto("/console/approvals")
        card = approver.locator("li", has_text=f"#{warning_id} v1")
        expect(card).to_be_visible()
        no_serious_violations(approver)
        shot(approver, f"0{step}-{username}-queue")
        card.get_by_role("button", name="批准 Approve").click()
        expect(approver.get_by_text("Nothing awaits your approval")).to_be_visible()
        if username == "duty_chief":
            chief = approver

    # --- the duty chief issues; the live page reaches 100 % accepted ----------------
    chief.goto(warning_url)
    chief.get_by_role("button", name="发布 Issue now").click()
    expect(chief.locator("#state")).to_contain_text("issued")
    expect(chief.locator("#accepted-pct")).to_have_text("100 %", timeout=120_000)
    expect(chief.locator("#live")).to_contain_text("陈家港镇")
    expect(chief.locator("#live")).to_contain_text("完成 Done")
    no_serious_violations(chief)
    shot(chief, "05-duty-chief-live")

    # --- the village officer files a relay report on a phone -------------------------
    officer = person(
        browser, site, "officer_cjg", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    officer.goto("/console/officer")
    expect(officer.locator("main")).to_contain_text("台风红色预警")
    no_serious_violations(officer)
    shot(officer, "06-officer-list")
    officer.locator(f'a[href="/console/officer/warnings/{warning_id}"]').first.click()
    no_serious_violations(officer)
    village = officer.locator("select[name=area]")
    village.select_option(index=0)
    officer.locator("input[name=households]").fill("3")
    officer.locator("form", has=officer.locator("input[name=households]")).get_by_role(
        "button"
    ).click()
    expect(officer.locator(".notice")).to_be_visible()
    shot(officer, "07-officer-relay-filed")

    # --- the public page and the Atom feed list it -------------------------------------
    public = browser.new_context(base_url=site, bypass_csp=True).new_page()
    public.goto("/")
    expect(public.locator("main")).to_contain_text("响水县气象台发布台风红色预警信号")
    no_serious_violations(public)
    shot(public, "08-public-zh")
    public.goto("/?lang=en")
    expect(public.locator("html")).to_have_attribute("lang", "en")
    no_serious_violations(public)
    shot(public, "09-public-en")
    feed = public.request.get("/feeds/cap.atom").text()
    assert f"/public/warnings/{warning_id}/cap.xml" in feed

    # --- a cancel, drafted, approved and issued, removes it ---------------------------
    forecaster.goto(warning_url)
    forecaster.get_by_role("link", name="解除 Cancel").click()
    forecaster.get_by_role("button", name="创建解除草稿 Draft the all-clear").click()
    forecaster.get_by_role("button", name="保存并提交审批 Save and submit").click()
    expect(forecaster.locator("#state")).to_contain_text("submitted")
    chief.goto("/console/approvals")
    chief.locator("li", has_text=f"#{warning_id} v2").get_by_role(
        "button", name="批准 Approve"
    ).click()
    chief.goto(warning_url)
    if chief.get_by_role("button", name="发布 Issue now").count() == 0:
        leader = person(browser, site, "leader")
        leader.goto("/console/approvals")
        leader.locator("li", has_text=f"#{warning_id} v2").get_by_role(
            "button", name="批准 Approve"
        ).click()
        chief.goto(warning_url)
    chief.get_by_role("button", name="发布 Issue now").click()
    expect(chief.locator("#state")).to_contain_text("issued")
    shot(chief, "10-cancel-issued")
    public.goto("/")
    expect(public.locator("main")).not_to_contain_text("响水县气象台发布台风红色预警信号")
    shot(public, "11-public-after-cancel")
    assert (
        f"/public/warnings/{warning_id}/cap.xml" not in public.request.get("/feeds/cap.atom").text()
    )


def _fill_times(page: Page) -> None:
    onset = datetime.now(TZ).replace(second=0, microsecond=0) + timedelta(minutes=10)
    page.get_by_label("生效 Onset").fill(onset.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("失效 Expires").fill((onset + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.parametrize("script", [False, True], ids=["script-off", "script-on"])
def test_red_picked_after_blue_is_red_throughout_and_the_all_clear_goes_out(
    browser: Browser, site: str, script: bool
) -> None:
    """The form loads with blue; the forecaster picks red. Stored, previewed, approved and
    issued, every text is red. Then an all-clear drafted here goes through approval and
    issue. With the script off as on: the same fields are posted, the server decides."""
    options = {"java_script_enabled": script}
    forecaster = person(browser, site, "forecaster", **options)
    forecaster.goto("/console/warnings/new")
    expect(forecaster.locator("#headline_zh")).to_have_value(re.compile("蓝色"))  # loaded blue
    forecaster.get_by_label("灾种 Hazard").select_option("rainstorm")
    forecaster.locator("#grade-red").check()
    forecaster.locator(f"#area-{CHENJIAGANG}").check()
    _fill_times(forecaster)
    if script:  # the preview and the untouched texts follow the grade as it is picked
        preview = forecaster.locator("#preview")
        expect(forecaster.locator("#headline_zh")).to_have_value("响水县气象台发布暴雨红色预警信号")
        broadcast = preview.locator('.preview-msg[data-channel="broadcast"][lang="zh-CN"]')
        expect(broadcast.first).to_contain_text("暴雨红色预警")
        expect(preview).not_to_contain_text("蓝色")
    forecaster.get_by_role("button", name="保存并提交审批 Save and submit").click()
    expect(forecaster.locator("#state")).to_contain_text("submitted")
    warning_url = forecaster.url
    warning_id = int(warning_url.rstrip("/").rsplit("/", 1)[1])
    expect(forecaster.locator("h1")).to_contain_text("响水县气象台发布暴雨红色预警信号")
    expect(forecaster.locator("main")).not_to_contain_text("蓝色")

    # The duty chief approves on the warning page, seeing what goes out and to whom.
    chief = person(browser, site, "duty_chief", **options)
    chief.goto(warning_url)
    review = chief.locator("#review")
    expect(review).to_contain_text("sms · zh-CN")
    expect(review).to_contain_text("wechat · en")
    expect(review).to_contain_text("broadcast · zh-CN")
    expect(review).to_contain_text("条 segments")
    expect(review.locator("#audience-terminals")).to_be_visible()
    expect(review.locator("#audience-officers")).to_be_visible()
    expect(review.locator("#audience-unreachable")).to_be_visible()
    expect(review).to_contain_text("红色")
    expect(review).not_to_contain_text("蓝色")
    if script:  # axe-core runs as a script
        no_serious_violations(chief)
    chief.get_by_role("button", name="批准 Approve").click()
    expect(chief.locator("#state")).to_contain_text("awaiting approval 2")
    # The leader approves from the queue, where the card carries the same review.
    leader = person(browser, site, "leader", **options)
    leader.goto("/console/approvals")
    card = leader.locator("li", has_text=f"#{warning_id} v1")
    expect(card.locator("details.review")).to_contain_text("暴雨红色预警")
    card.get_by_role("button", name="批准 Approve").click()
    chief.goto(warning_url)
    expect(chief.locator("#next-step")).to_contain_text("Issue now")
    chief.get_by_role("button", name="发布 Issue now").click()
    expect(chief.locator("#state")).to_contain_text("issued")
    expect(chief.locator("h1")).to_contain_text("暴雨红色预警信号")
    forecaster.goto("/console/warnings")
    expect(forecaster.locator("tr", has_text=f"#{warning_id} v1")).to_contain_text("issued")

    # The all-clear: drafted, shown as such, submitted, approved and issued.
    forecaster.goto(warning_url)
    forecaster.get_by_role("link", name="解除 Cancel").click()
    expect(forecaster.locator("#all-clear")).to_be_visible()
    expect(forecaster.locator("#headline_zh")).to_have_value("响水县气象台解除暴雨红色预警信号")
    forecaster.get_by_role("button", name="创建解除草稿 Draft the all-clear").click()
    expect(forecaster.locator("#all-clear")).to_be_visible()  # the draft, still an all-clear
    forecaster.goto("/console/warnings")
    row = forecaster.locator("tr", has_text=f"#{warning_id} v1")
    expect(row).to_contain_text("issued")  # the version in force, and beside it …
    expect(row).to_contain_text("v2")  # … the all-clear on its way
    forecaster.goto(warning_url)
    forecaster.get_by_role("button", name="保存并提交审批 Save and submit").click()
    expect(forecaster.locator("#state")).to_contain_text("submitted")
    chief.goto(warning_url)
    expect(chief.locator("#all-clear")).to_be_visible()
    expect(chief.locator("#review")).to_contain_text("解除")
    chief.get_by_role("button", name="批准 Approve").click()
    expect(chief.locator("#next-step")).to_be_visible()
    chief.get_by_role("button", name="发布 Issue now").click()
    expect(chief.locator("#state")).to_contain_text("issued")
    expect(chief.locator("h1")).to_contain_text("响水县气象台解除暴雨红色预警信号")


def test_the_admin_and_report_pages_pass_the_accessibility_check(
    browser: Browser, site: str
) -> None:
    admin = person(browser, site, "admin")
    for path in (
        "/console/admin",
        "/console/admin/users",
        "/console/admin/areas",
        "/console/admin/residents",
        "/console/admin/terminals",
        "/console/admin/officers",
        "/console/reports",
    ):
        response = admin.goto(path)
        assert response is not None and response.status == 200, path
        no_serious_violations(admin)
    shot(admin, "12-admin-reports")
    # the officer cannot open them: the refusal page
    officer = person(browser, site, "officer_cjg", viewport={"width": 375, "height": 740})
    refused = officer.goto("/console/admin/users")
    assert refused is not None and refused.status == 403
    expect(officer.locator("h1")).to_contain_text("不允许 Not allowed")
    no_serious_violations(officer)
