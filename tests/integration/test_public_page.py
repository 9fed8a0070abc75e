"""The public page: actual warnings in force, in Chinese or English, without signing in."""

from __future__ import annotations

from html import escape

from tests.integration.conftest import Api
from tests.integration.console import Session, sign_in
from tests.integration.flows import issue_new, ok, release

CJG = "320921101"


async def public_page(api: Api, path: str) -> tuple[str, dict[str, str]]:
    async with api.client.get(path, allow_redirects=False) as response:  # no cookie, no token
        assert response.status == 200, path
        return await response.text(), dict(response.headers)


async def test_the_public_page_shows_actual_warnings_in_force_in_both_languages(
    api: Api,
) -> None:
    red = await issue_new(api, grade="red", areas=[CJG])
    exercise = await issue_new(api, grade="yellow", areas=[CJG], mode="exercise")
    async with api.client.get("/public/warnings.json") as answer:
        [listed] = (await answer.json())["warnings"]
    assert listed["id"] == red["id"]

    text, headers = await public_page(api, "/")
    assert '<html lang="zh-CN">' in text
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "<script" not in text and "style=" not in text
    assert escape(listed["headline"]["zh-CN"]) in text and "台风红色预警" in text
    assert 'class="grade grade-red"' in text and "红色预警" in text  # colour and word
    assert "陈家港镇" in text
    assert "2026-07-28 10:00" in text and "2026-07-29 08:00" in text  # onset, expiry (local)
    assert "2026-07-28 08:00" in text  # issued
    assert escape(listed["description"]["zh-CN"]) in text
    assert escape(listed["instruction"]["zh-CN"]) in text and "防御指南" in text
    assert escape(listed["headline"]["en"]) not in text
    # The exercise is never public, whatever its label.
    assert "【演练】" not in text and f"/public/warnings/{exercise['id']}/" not in text
    # Links: the CAP alert, the feed (also for feed readers in the head), the JSON list.
    assert f'href="/public/warnings/{red["id"]}/cap.xml"' in text
    assert '<link rel="alternate" type="application/atom+xml" href="/feeds/cap.atom"' in text
    assert 'href="/public/warnings.json"' in text
    assert 'href="/?lang=en"' in text and ">English</a>" in text

    english, _ = await public_page(api, "/?lang=en")
    assert '<html lang="en">' in english
    assert escape(listed["headline"]["en"]) in english
    assert escape(listed["instruction"]["en"]) in english
    assert escape(listed["headline"]["zh-CN"]) not in english
    assert "<dd>Chenjiagang Town</dd>" in english  # place names in pinyin, from the tree
    assert "陈家港" not in english
    assert "Red warning" in english and 'class="grade grade-red"' in english
    assert 'href="/"' in english and ">中文</a>" in english

    also, _ = await public_page(api, "/public")
    assert escape(listed["headline"]["zh-CN"]) in also and 'href="/public?lang=en"' in also


async def test_an_all_clear_takes_the_warning_off_the_page(api: Api) -> None:
    red = await issue_new(api, grade="red", areas=[CJG])
    before, _ = await public_page(api, "/public")
    assert f"/public/warnings/{red['id']}/cap.xml" in before
    await ok(api.post(f"/warnings/{red['id']}/revisions", "forecaster", {"action": "cancel"}), 201)
    await release(api, red["id"], ["duty_chief"])
    for path in ("/", "/public", "/public?lang=en"):
        after, _ = await public_page(api, path)
        assert f"/public/warnings/{red['id']}/" not in after and "台风" not in after
    chinese, _ = await public_page(api, "/")
    assert "当前没有生效的预警" in chinese
    english, _ = await public_page(api, "/?lang=en")
    assert "No warning is in force now." in english
    assert 'href="/feeds/cap.atom"' in english  # the feed is still offered


async def test_the_public_page_needs_no_sign_in_and_stays_public_when_signed_in(
    api: Api,
) -> None:
    await issue_new(api, grade="red", areas=[CJG])
    anonymous = await Session(api.client).request("GET", "/")
    assert anonymous.status == 200 and "台风红色预警" in anonymous.text
    assert "退出 Sign out" not in anonymous.text
    officer = await sign_in(api.client, "officer")
    seen = await officer.get("/public")
    assert seen.status == 200 and "台风红色预警" in seen.text
