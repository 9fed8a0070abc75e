"""The warning pages over HTTP: draft with preview, approvals queue, issue, refusals."""

from __future__ import annotations

import re

from tests.integration.conftest import Api
from tests.integration.console import Session, form_fields, sign_in
from tests.integration.flows import APPROVERS, approve_all, issue_new, ok
from tests.support import CHENJIAGANG

FORM = [
    ("hazard", "typhoon"),
    ("grade", "red"),
    ("mode", "actual"),
    ("areas", CHENJIAGANG),
    ("groups", "fisherman"),
    ("onset", "2026-07-28T10:00"),
    ("expires", "2026-07-29T08:00"),
]


def warning_id_of(location: str | None) -> int:
    assert location is not None
    found = re.fullmatch(r"/console/warnings/(\d+)", location)
    assert found, location
    return int(found.group(1))


async def draft_page(session: Session) -> dict[str, str]:
    """The new-draft page, and the text fields as the catalog prefilled them."""
    page = await session.get("/console/warnings/new")
    assert page.status == 200
    return dict(
        re.findall(
            r'<input type="text" id="(headline_\w+)" name="\w+" lang="[^"]+" value="([^"]*)"',
            page.text,
        )
    )


async def test_the_draft_page_prefills_catalog_text_and_previews_every_channel(api: Api) -> None:
    forecaster = await sign_in(api.client, "forecaster")
    page = await forecaster.get("/console/warnings/new")
    assert page.status == 200
    assert "陈家港镇" in page.text and "样例 sample" in page.text  # the tree with population
    assert "红色 Red" in page.text  # grade as colour and word
    preview = await forecaster.post("/console/preview", FORM)
    assert preview.status == 200
    assert 'id="audience-people"' in preview.text
    for channel in ("sms", "wechat", "broadcast", "officer"):
        assert f"<h4>{channel} · zh-CN" in preview.text
    assert "segments" in preview.text
    assert "catalog-texts" in preview.text and "台风红色预警" in preview.text
    # own words naming another grade: shown beside the messages, as submit would refuse them
    worded = await forecaster.post("/console/preview", [*FORM, ("description_zh", "蓝色预警")])
    assert 'id="grade-words"' in worded.text and "<h4>sms · zh-CN" in worded.text
    assert 'id="grade-words"' not in preview.text
    # a bad draft shows the domain's reason instead of a preview
    bad = await forecaster.post("/console/preview", [*FORM[:3], ("onset", "2026-07-28T10:00")])
    assert "areas is required" in bad.text


async def test_draft_submit_approve_twice_and_issue_through_the_pages(api: Api) -> None:
    forecaster = await sign_in(api.client, "forecaster")
    await forecaster.get("/console/warnings/new")
    created = await forecaster.post("/console/warnings", [*FORM, ("intent", "submit")])
    assert created.status == 303, created.text
    warning_id = warning_id_of(created.location)
    stored = await ok(api.get(f"/warnings/{warning_id}"))
    assert stored["state"] == "submitted"
    assert stored["groups"] == ["fisherman"]
    assert stored["onset"] == "2026-07-28T10:00:00+08:00"
    assert stored["headline"]["zh-CN"]  # catalog text followed, not stored as custom

    # The drafter sees no approve button on their own draft.
    own = await forecaster.get(f"/console/warnings/{warning_id}")
    assert "/do/approve" not in own.text

    chief = await sign_in(api.client, "duty_chief")
    queue = await chief.get("/console/approvals")
    assert f"/console/warnings/{warning_id}/do/approve" in queue.text
    approved = await chief.post(
        f"/console/warnings/{warning_id}/do/approve", {"version": "1", "back": "approvals"}
    )
    assert (approved.status, approved.location) == (303, "/console/approvals")
    # now it awaits the leader, not the chief
    assert "/do/approve" not in (await chief.get("/console/approvals")).text

    leader = await sign_in(api.client, "leader")
    assert f"#{warning_id}" in (await leader.get("/console/approvals")).text
    await leader.post(f"/console/warnings/{warning_id}/do/approve", {"version": "1"})
    page = await chief.get(f"/console/warnings/{warning_id}")
    assert "/do/issue" in page.text
    issued = await chief.post(f"/console/warnings/{warning_id}/do/issue", {"version": "1"})
    assert issued.status == 303
    assert (await ok(api.get(f"/warnings/{warning_id}")))["state"] == "issued"
    live = await chief.get(f"/console/warnings/{warning_id}")
    assert 'id="live"' in live.text
    assert "各镇覆盖率 Coverage per town" in live.text
    fragment = await chief.get(f"/console/warnings/{warning_id}/live")
    assert "陈家港镇" in fragment.text


async def test_a_user_without_the_permission_gets_the_refusal_and_nothing_changes(
    api: Api,
) -> None:
    forecaster = await sign_in(api.client, "forecaster")
    await forecaster.get("/console/warnings/new")
    created = await forecaster.post("/console/warnings", [*FORM, ("intent", "submit")])
    warning_id = warning_id_of(created.location)
    # The button is absent, but a forged form post is refused by the domain all the same.
    refused = await forecaster.post(f"/console/warnings/{warning_id}/do/approve", {})
    assert refused.status == 403
    assert "nobody approves their own draft" in refused.text
    assert (await ok(api.get(f"/warnings/{warning_id}")))["approvals"] == []
    # An officer cannot even open the office's pages; an admin cannot issue.
    officer = await sign_in(api.client, "officer")
    assert (await officer.get("/console/warnings")).status == 403
    admin = await sign_in(api.client, "admin")
    await admin.get(f"/console/warnings/{warning_id}")
    denied = await admin.post(f"/console/warnings/{warning_id}/do/approve", {})
    assert denied.status == 403
    audit = await ok(api.get(f"/audit?warning_id={warning_id}", "admin"))
    assert [e["outcome"] for e in audit["entries"] if e["action"] == "approve"] == [
        "refused",
        "refused",
    ]


async def test_a_rejection_needs_a_reason_and_the_form_keeps_what_was_typed(api: Api) -> None:
    forecaster = await sign_in(api.client, "forecaster")
    await forecaster.get("/console/warnings/new")
    refused = await forecaster.post(
        "/console/warnings", [*FORM[:4], ("headline_zh", "自拟标题"), ("intent", "save")]
    )
    assert refused.status == 422
    assert "onset is required" in refused.text
    assert 'value="自拟标题"' in refused.text
    created = await forecaster.post("/console/warnings", [*FORM, ("intent", "submit")])
    warning_id = warning_id_of(created.location)
    chief = await sign_in(api.client, "duty_chief")
    await chief.get("/console/approvals")
    empty = await chief.post(f"/console/warnings/{warning_id}/do/reject", {"reason": ""})
    assert empty.status == 422
    rejected = await chief.post(
        f"/console/warnings/{warning_id}/do/reject", {"reason": "区域少了小尖镇"}
    )
    assert rejected.status == 303
    page = await forecaster.get(f"/console/warnings/{warning_id}")
    assert "区域少了小尖镇" in page.text
    assert "/do/redraft" in page.text


async def test_the_approval_page_approves_the_messages_it_shows(api: Api) -> None:
    forecaster = await sign_in(api.client, "forecaster")
    await forecaster.get("/console/warnings/new")
    form = [*FORM, ("description_zh", "今夜登陆，风力12级。"), ("intent", "submit")]
    warning_id = warning_id_of((await forecaster.post("/console/warnings", form)).location)
    chief = await sign_in(api.client, "duty_chief")
    page = await chief.get(f"/console/warnings/{warning_id}")
    assert 'id="review"' in page.text and "<h4>sms · en" in page.text
    assert "[Translation pending] 今夜登陆，风力12级。" in page.text
    assert 'name="chinese_only"' in page.text
    found = re.search(r'name="digest" value="([0-9a-f]{64})"', page.text)
    assert found
    digest = found.group(1)
    # Without "send Chinese only" the approval is refused and the page says why.
    refused = await chief.post(
        f"/console/warnings/{warning_id}/do/approve", {"version": "1", "digest": digest}
    )
    assert refused.status == 422 and "chinese_only" in refused.text
    # A page showing other messages than those rendered now is refused.
    stale = await chief.post(
        f"/console/warnings/{warning_id}/do/approve",
        {"version": "1", "digest": "0" * 64, "chinese_only": "yes"},
    )
    assert stale.status == 409 and "have changed since your page showed them" in stale.text
    assert (await ok(api.get(f"/warnings/{warning_id}")))["approvals"] == []
    approved = await chief.post(
        f"/console/warnings/{warning_id}/do/approve",
        {"version": "1", "digest": digest, "chinese_only": "yes"},
    )
    assert approved.status == 303
    assert len((await ok(api.get(f"/warnings/{warning_id}")))["approvals"]) == 1


def replaced(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    """The form with these fields set as a user would set them (others as shown)."""
    kept = [(k, v) for k, v in fields if k not in values and k != "csrf"]
    return [*kept, *values.items()]


async def test_revisions_and_issue_at_onset_through_the_forms_as_posted_without_script(
    api: Api,
) -> None:
    wid = (await issue_new(api, grade="yellow", hazard="rainstorm", areas=[CHENJIAGANG]))["id"]
    forecaster = await sign_in(api.client, "forecaster")
    chief = await sign_in(api.client, "duty_chief")

    # Escalate: the form shows yellow's texts; posted as they stand, orange's are stored.
    page = await forecaster.get(f"/console/warnings/{wid}/revise?action=escalate")
    fields = form_fields(page)
    assert ("grade", "orange") in fields and "黄色" in dict(fields)["headline_zh"]
    saved = await forecaster.post(
        f"/console/warnings/{wid}/revise?action=escalate", replaced(fields, intent="save")
    )
    assert saved.status == 303, saved.text
    escalation = await ok(api.get(f"/warnings/{wid}"))
    assert (escalation["kind"], escalation["grade"]) == ("escalate", "orange")
    assert (
        "橙色" in escalation["headline"]["zh-CN"] and "黄色" not in escalation["headline"]["zh-CN"]
    )
    assert "黄色" not in escalation["instruction"]["zh-CN"]

    # Submitted from the edit form as it shows the draft (its fields, in the form's order).
    edit = form_fields(await forecaster.get(f"/console/warnings/{wid}"))
    submitted = await forecaster.post(
        f"/console/warnings/{wid}/edit", replaced(edit, intent="submit")
    )
    assert submitted.status == 303, submitted.text
    assert (await ok(api.get(f"/warnings/{wid}")))["state"] == "submitted"
    for user in ("duty_chief", "leader"):
        session = chief if user == "duty_chief" else await sign_in(api.client, "leader")
        page = await session.get(f"/console/warnings/{wid}")
        approved = await session.post(
            f"/console/warnings/{wid}/do/approve", form_fields(page, "approve-form")
        )
        assert approved.status == 303, approved.text
    page = await chief.get(f"/console/warnings/{wid}")
    assert 'id="next-step"' in page.text and "Issue at onset" in page.text
    scheduled = await chief.post(f"/console/warnings/{wid}/do/schedule", {"version": "2"})
    assert scheduled.status == 303
    shown = await ok(api.get(f"/warnings/{wid}"))
    assert (shown["state"], shown["release_at"] is not None) == ("approved", True)
    issued = await chief.post(f"/console/warnings/{wid}/do/issue", {"version": "2"})
    assert issued.status == 303
    assert (await ok(api.get(f"/warnings/{wid}")))["state"] == "issued"

    # Update and downgrade: each a draft of its own kind from the form as shown.
    for kind, grade in (("update", "orange"), ("downgrade", "yellow")):
        page = await forecaster.get(f"/console/warnings/{wid}/revise?action={kind}")
        saved = await forecaster.post(
            f"/console/warnings/{wid}/revise?action={kind}",
            replaced(form_fields(page), intent="save"),
        )
        assert saved.status == 303, saved.text
        drafted = await ok(api.get(f"/warnings/{wid}"))
        assert (drafted["kind"], drafted["grade"], drafted["state"]) == (kind, grade, "draft")
        listed = await forecaster.get("/console/warnings")
        assert f"v{drafted['version']} {kind}" in listed.text  # beside the version in force
        page = await forecaster.get(f"/console/warnings/{wid}")
        again = await forecaster.post(
            f"/console/warnings/{wid}/edit", replaced(form_fields(page), intent="submit")
        )
        assert again.status == 303, again.text
        await approve_all(api, wid, APPROVERS[grade])
        await ok(api.post(f"/warnings/{wid}/issue", "duty_chief"))


async def test_page_refusals_for_role_and_forged_forms_are_audited(api: Api) -> None:
    officer = await sign_in(api.client, "officer")
    assert (await officer.get("/console/warnings")).status == 403
    forecaster = await sign_in(api.client, "forecaster")
    forged = await forecaster.post("/console/warnings", [*FORM, ("csrf", "forged")])
    assert forged.status == 403
    entries = (await ok(api.get("/audit?limit=1000", "admin")))["entries"]
    refused = [
        (e["actor"], e["details"]["rule"], e["details"]["message"].split(":")[0])
        for e in entries
        if e["action"] == "console.page" and e["outcome"] == "refused"
    ]
    assert refused == [
        ("officer", "role", "GET /console/warnings"),
        ("forecaster", "csrf", "POST /console/warnings"),
    ]
