"""The admin's console pages: real data on every page, the add-user form (the same checks
as `ewb user add`), the residents import (the API's importer, CSRF on the multipart form),
and refusals for every other role."""

from __future__ import annotations

import io
import re

import aiohttp

from ewb.services import Services
from subscribers.officers import Officer
from subscribers.residents import CSV_COLUMNS
from subscribers.terminals import Terminal
from tests.integration.conftest import USERS, Api
from tests.integration.console import Page, Session, sign_in
from tests.support import CHENJIAGANG, NOW

PAGES = (
    "/console/admin",
    "/console/admin/users",
    "/console/admin/areas",
    "/console/admin/residents",
    "/console/admin/terminals",
    "/console/admin/officers",
)
HAIAN = "320921101001"  # 海安居委会, a village of 陈家港镇
TOWN_VILLAGE = "320921100001"  # in 响水镇
HEADER = ",".join(CSV_COLUMNS) + "\n"
GOOD_AND_BAD = HEADER + (
    f"G1,张伟,13800000001,,zh-CN,{HAIAN},fisherman,sms,blue,0\n"
    f"B1,坏号码,12345,,zh-CN,{HAIAN},,,,0\n"
    f"G2,王芳,13800000002,,zh-CN,{TOWN_VILLAGE},,,,0\n"
    "B2,无地区,13800000004,,zh-CN,999999,,,,0\n"
)


def row_of(page: Page, text: str) -> str:
    """The table row holding `text`."""
    found = re.search(r"<tr[^>]*>(?:(?!</tr>).)*" + re.escape(text) + r".*?</tr>", page.text, re.S)
    assert found, f"no row with {text!r}"
    return found.group(0)


def cell(page: Page, cell_id: str) -> str:
    found = re.search(rf'id="{cell_id}">([^<]*)<', page.text)
    assert found, cell_id
    return found.group(1).strip()


def user_form(**overrides: str) -> dict[str, str]:
    fields = {
        "username": "zhao.chief",
        "role": "duty_chief",
        "org": "weather",
        "area_codes": "320921101, 320921102",
        "name": "赵强",
        "phone": "",
        "wecom_id": "",
        "password": "flood-season-2026",
    }
    fields.update(overrides)
    return fields


async def upload(session: Session, csv_text: str, csrf: str | None) -> Page:
    form = aiohttp.FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field(
        "file", io.BytesIO(csv_text.encode()), filename="residents.csv", content_type="text/csv"
    )
    return await session.request("POST", "/console/admin/residents", data=form)


async def user_count(services: Services) -> int:
    async with services.store.read() as tx:
        return len(await tx.users.details())


async def test_overview_counts_and_links(api: Api, services: Services) -> None:
    admin = await sign_in(api.client, "admin")
    page = await admin.get("/console/admin")
    assert page.status == 200, page.text
    for href in PAGES[1:]:
        assert f'href="{href}"' in page.text
    assert cell(page, "count-users") == str(len(USERS))
    assert cell(page, "count-residents") == "0"
    assert cell(page, "count-gaps") == "167"  # the test officer serves a whole town: no village


async def test_areas_page_shows_the_tree_with_sample_figures_marked(api: Api) -> None:
    admin = await sign_in(api.client, "admin")
    page = await admin.get("/console/admin/areas")
    assert page.status == 200
    village = row_of(page, HAIAN)
    assert "海安居委会" in village and "4,955" in village and "1,754" in village
    assert "样例 sample" in village
    assert "depth-2" in village and "村居 Village" in village
    county = row_of(page, ">320921<")
    assert "响水县" in county and "503,957" in county and "depth-0" in county
    # the tree order: the town comes before its villages
    assert page.text.index("陈家港镇") < page.text.index("海安居委会")
    harbour = row_of(page, "320921101E02")
    assert "陈家港渔港" in harbour and "陈家港镇" in harbour and "样例 sample" in harbour


async def test_users_page_lists_users_with_their_area_names(api: Api) -> None:
    admin = await sign_in(api.client, "admin")
    page = await admin.get("/console/admin/users")
    assert page.status == 200
    officer = row_of(page, ">officer<")
    assert "陈家港镇" in officer and CHENJIAGANG in officer
    assert "灾害信息员 Information officer" in officer and "启用 active" in officer
    assert "响水县" in row_of(page, ">forecaster<")


async def test_add_user_form_creates_a_user_who_can_sign_in(api: Api, services: Services) -> None:
    admin = await sign_in(api.client, "admin")
    await admin.get("/console/admin/users")
    added = await admin.post("/console/admin/users", [*user_form().items(), ("areas", "320921103")])
    assert (added.status, added.location) == (303, "/console/admin/users?added=zhao.chief")
    listing = await admin.get(added.location or "")
    assert "已添加用户 User added" in listing.text
    row = row_of(listing, ">zhao.chief<")
    assert "赵强" in row and "陈家港镇" in row and "小尖镇" in row and "黄圩镇" in row
    async with services.store.read() as tx:
        stored = await tx.users.by_username("zhao.chief")
    assert stored is not None
    assert (stored.actor.role.value, stored.actor.org) == ("duty_chief", "weather")
    assert stored.actor.areas == {"320921101", "320921102", "320921103"}

    chief = await sign_in(api.client, "zhao.chief", "flood-season-2026")
    home = await chief.request("GET", "/console")
    assert (home.status, home.location) == (303, "/console/approvals")

    officer = await admin.post(
        "/console/admin/users",
        user_form(
            username="sun.officer",
            role="info_officer",
            org="county",
            area_codes=HAIAN,
            phone="139 1234 0009",
        ),
    )
    assert officer.status == 303
    gaps = await admin.get("/console/admin/officers")
    assert cell(gaps, "gap-count") == "166"
    assert "+86139****0009" in gaps.text and "13912340009" not in gaps.text


async def test_add_user_errors_rerender_the_form_and_write_nothing(
    api: Api, services: Services
) -> None:
    admin = await sign_in(api.client, "admin")
    await admin.get("/console/admin/users")
    before = await user_count(services)
    cases = [
        (user_form(username="forecaster"), 409, "already exists"),
        (user_form(password="short"), 422, "at least 8 characters"),
        (
            user_form(role="info_officer", org="county", area_codes=HAIAN),
            422,
            "an info_officer needs a phone",
        ),
        (user_form(phone="12345"), 422, "phone"),
        (user_form(area_codes="999"), 422, "unknown area codes: 999"),
        (user_form(area_codes=""), 422, "unknown area codes: (none given)"),
        (user_form(org="army"), 422, "unknown organisation &#39;army&#39;"),
        (user_form(role="king"), 422, "unknown role"),
        (user_form(username=""), 422, "username"),
    ]
    for fields, status, message in cases:
        page = await admin.post("/console/admin/users", fields)
        assert page.status == status, (fields, page.text)
        assert 'id="form-error"' in page.text and message in page.text, (message, page.text)
        # the form comes back with what was typed, but never the password
        assert f'value="{fields["username"]}"' in page.text
        assert fields["password"] not in page.text
    assert await user_count(services) == before
    async with services.store.read() as tx:
        assert await tx.users.by_username("zhao.chief") is None


async def test_residents_import_shows_counts_and_refused_rows(api: Api, services: Services) -> None:
    admin = await sign_in(api.client, "admin")
    form = await admin.get("/console/admin/residents")
    assert form.status == 200
    # the CSRF field comes before the file, so it is checked before the file is read
    assert form.text.index('name="csrf"') < form.text.index('name="file"')
    page = await upload(admin, GOOD_AND_BAD, admin.csrf)
    assert page.status == 200, page.text
    counts = row_of(page, '<td class="num">4</td>')
    assert re.findall(r">(\d+)</td>", counts) == ["4", "2", "0", "0", "2"]
    bad_phone = row_of(page, ">B1<")
    assert '<td class="num">3</td>' in bad_phone and "phone" in bad_phone
    no_area = row_of(page, ">B2<")
    assert '<td class="num">5</td>' in no_area and "area_code" in no_area
    assert cell(page, "resident-count") == "2"
    async with services.store.read() as tx:
        g1 = await tx.residents.by_external_id("G1")
        assert g1 is not None and g1.resident.area_code == HAIAN
        assert await tx.residents.by_external_id("G2") is not None
        assert await tx.residents.by_external_id("B1") is None

    again = await upload(admin, GOOD_AND_BAD, admin.csrf)
    assert re.findall(r">(\d+)</td>", row_of(again, '<td class="num">4</td>')) == [
        "4",
        "0",
        "0",
        "2",
        "2",
    ]

    bad_file = await upload(admin, "id,name\n1,x\n", admin.csrf)
    assert bad_file.status == 422 and "external_id" in bad_file.text
    assert 'id="form-error"' in bad_file.text


async def test_residents_import_refuses_a_forged_or_missing_token(
    api: Api, services: Services
) -> None:
    admin = await sign_in(api.client, "admin")
    for csrf in ("forged", None):
        page = await upload(admin, GOOD_AND_BAD, csrf)
        assert page.status == 403 and "csrf" in page.text
    async with services.store.read() as tx:
        assert await tx.residents.count() == 0


async def test_terminals_page_shows_status_area_and_population(
    api: Api, services: Services
) -> None:
    async with services.store.write() as tx:
        await tx.terminals.upsert(
            [
                Terminal("T-HA-1", "海安IP音柱1", HAIAN, "33209211010010314010000", 800, "online"),
                Terminal(
                    "T-HA-2", "海安IP音柱2", HAIAN, "33209211010010314020000", None, "offline"
                ),
                Terminal(
                    "T-XS-1", "东园IP音柱1", TOWN_VILLAGE, "33209211000010314010000", 500, "online"
                ),
            ]
        )
    admin = await sign_in(api.client, "admin")
    page = await admin.get("/console/admin/terminals")
    assert page.status == 200
    assert (cell(page, "online-count"), cell(page, "offline-count")) == ("2", "1")
    offline = row_of(page, ">T-HA-2<")
    assert "离线 offline" in offline and "海安居委会" in offline and "陈家港镇" in offline
    assert "均分 share" in offline  # no figure of its own
    online = row_of(page, ">T-XS-1<")
    assert "在线 online" in online and "500" in online and "响水镇" in online
    assert page.text.index("T-HA-2") < page.text.index("T-HA-1")  # offline first
    overview = await admin.get("/console/admin")
    assert (cell(overview, "count-online"), cell(overview, "count-offline")) == ("2", "1")


async def test_officers_page_lists_gaps_and_officers_with_masked_phones(
    api: Api, services: Services
) -> None:
    async with services.store.write() as tx:
        await tx.users.upsert_officer(
            Officer("li.haian", "李敏", "+8613912340001", "wecom-li-haian", frozenset({HAIAN})),
            NOW,
        )
    admin = await sign_in(api.client, "admin")
    page = await admin.get("/console/admin/officers")
    assert page.status == 200
    assert cell(page, "gap-count") == "166"
    gaps_json = await api.get("/officers/gaps", "admin")
    assert gaps_json.body["count"] == 166
    gaps = page.text[page.text.index('id="gaps"') : page.text.index('id="officers"')]
    assert "海安居委会" not in gaps and "大湾居委会" in gaps
    officer = row_of(page, ">li.haian<")
    assert "李敏" in officer and "+86139****0001" in officer and "海安居委会" in officer
    assert "13912340001" not in page.text and "wecom-li-haian" not in page.text


async def test_other_roles_are_refused_and_nothing_is_written(api: Api, services: Services) -> None:
    for username in ("forecaster", "officer", "duty_chief"):
        session = await sign_in(api.client, username)
        for path in PAGES:
            page = await session.get(path)
            assert page.status == 403, (username, path)
            assert "admin" in page.text
        added = await session.post("/console/admin/users", user_form())
        assert added.status == 403, username
        imported = await upload(session, GOOD_AND_BAD, session.csrf)
        assert imported.status == 403, username
    async with services.store.read() as tx:
        assert await tx.users.by_username("zhao.chief") is None
        assert await tx.residents.count() == 0


async def test_pages_need_a_session(api: Api) -> None:
    anonymous = Session(api.client)
    for path in PAGES:
        page = await anonymous.request("GET", path)
        assert page.status == 303 and (page.location or "").startswith("/console/login")
    posted = await anonymous.request("POST", "/console/admin/users", data=user_form())
    assert posted.status == 401
