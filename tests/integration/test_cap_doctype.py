"""A CAP document with a DOCTYPE (billion laughs, XXE) is refused by `POST /api/v1/cap`
and by `ewb cap import`, and makes no draft."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from config.settings import Settings
from ewb.services import Services
from tests.integration.cli import ewb
from tests.integration.conftest import Api, table_snapshot
from tests.integration.flows import ok
from tests.integration.test_cli import upstream_alert
from tests.support import NOW, TZ

XXE = '<!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
LOLS = "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' if n else '<!ENTITY lol0 "lol">' for n in range(10)
)
BILLION_LAUGHS = f"<!DOCTYPE alert [{LOLS}]>"


def with_doctype(alert: Path, doctype: str, entity: str, encoding: str = "utf-8") -> bytes:
    """The otherwise valid alert with `doctype` and `entity` in its sender's name."""
    text = alert.read_text(encoding="utf-8").replace("<alert ", f"{doctype}\n<alert ", 1)
    text = text.replace("<senderName>盐城市气象台", f"<senderName>盐城市气象台{entity}", 1)
    if encoding != "utf-8":
        text = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"', 1)
    return text.encode(encoding)


DOCUMENTS = [
    pytest.param(XXE, "&x;", "utf-8", id="xxe"),
    pytest.param(BILLION_LAUGHS, "&lol9;", "utf-8", id="billion-laughs"),
    pytest.param(XXE, "&x;", "utf-16", id="xxe-utf-16"),
]


@pytest.mark.parametrize(("doctype", "entity", "encoding"), DOCUMENTS)
async def test_post_cap_with_a_doctype_is_422_and_makes_no_draft(
    api: Api,
    services: Services,
    tmp_path: Path,
    doctype: str,
    entity: str,
    encoding: str,
) -> None:
    alert = upstream_alert(tmp_path / "upstream.xml", NOW)
    before = await table_snapshot(services)
    reply = await api.call(
        "POST", "/cap", "forecaster", data=with_doctype(alert, doctype, entity, encoding)
    )
    assert reply.status == 422, reply.body
    assert (reply.body["error"], reply.body["field"]) == ("invalid_cap", "cap")
    assert "DOCTYPE" in reply.body["message"], reply.body
    assert "root:" not in reply.body["message"]
    assert await table_snapshot(services) == before
    assert (await ok(api.get("/warnings")))["total"] == 0

    # The same alert without the DOCTYPE is still imported.
    imported = await api.call("POST", "/cap", "forecaster", data=alert.read_bytes())
    assert imported.status == 201, imported.body


@pytest.mark.parametrize(("doctype", "entity", "encoding"), DOCUMENTS)
async def test_cap_import_of_a_doctype_fails_with_one_clear_line(
    api: Api,
    settings: Settings,
    tmp_path: Path,
    doctype: str,
    entity: str,
    encoding: str,
) -> None:
    alert = upstream_alert(tmp_path / "upstream.xml", datetime.now(TZ))
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(with_doctype(alert, doctype, entity, encoding))

    result = ewb(settings, "cap", "import", str(hostile))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ewb: {hostile}: ") and "DOCTYPE" in lines[0], lines
    assert result.stdout == ""
    assert (await ok(api.get("/warnings")))["total"] == 0
