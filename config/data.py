"""Reading the shipped data files into domain objects (the only file I/O for config data)."""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from lxml import etree

from config.settings import CONFIG_DIR, Settings
from warning.catalog import Catalog, build_catalog
from warning.policy import Policy, build_policy

DIVISIONS_CSV = CONFIG_DIR / "xiangshui_divisions.csv"
EXTRA_AREAS_CSV = CONFIG_DIR / "extra_areas.csv"
POPULATION_SAMPLE_CSV = CONFIG_DIR / "area_population_sample.csv"
TERMINALS_SAMPLE_CSV = CONFIG_DIR / "terminals_sample.csv"
OFFICERS_SAMPLE_CSV = CONFIG_DIR / "officers_sample.csv"
CAP_SCHEMA = CONFIG_DIR / "CAP-v1.2.xsd"
DIVISION_COLUMNS = ("code", "name", "parent_code", "level")


def _toml(path: Path) -> dict[str, object]:
    with path.open("rb") as f:
        return tomllib.load(f)


def load_catalog(settings: Settings) -> Catalog:
    """The hazard catalog, organisations and population groups."""
    return build_catalog(
        _toml(settings.data_file("hazards")),
        _toml(settings.data_file("policy")),
        _toml(settings.data_file("groups")),
    )


def load_policy(settings: Settings) -> Policy:
    return build_policy(_toml(settings.data_file("policy")))


def read_csv(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of a UTF-8 CSV file with these columns."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def read_divisions(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a divisions CSV (code,name,parent_code,level)."""
    return read_csv(path, DIVISION_COLUMNS)


class CapSchemaError(ValueError):
    """The document is not a valid CAP 1.2 alert; the message quotes the schema error."""


NO_DOCTYPE = "DOCTYPE/entity declarations are not allowed in CAP documents"
# The encodings every XML processor reads (XML 1.0 § 4.3.3), ASCII being part of UTF-8;
# the importer (ElementTree) reads no multi-byte encoding besides them.
_ENCODINGS = frozenset({"UTF8", "UTF16", "UTF16LE", "UTF16BE", "USASCII", "ASCII"})


def declares_doctype(document: bytes) -> bool:
    """Whether the bytes hold a document type declaration (where entities are declared).

    Looked for in the bytes, before any parser sees them: in UTF-16 or UTF-32 the ASCII
    of the markup is interleaved with NUL bytes, so those are dropped first. Markup text
    cannot hold a literal `<` unescaped, so this finds only a declaration, a comment or
    a CDATA section containing one — all refused alike.
    """
    return b"<!DOCTYPE" in document.replace(b"\0", b"").upper()


def _one_line(error: object) -> str:
    """libxml2's messages may hold line breaks; the CLI prints one line."""
    return " ".join(str(error).split())


def cap_validator() -> Callable[[bytes], None]:
    """A function that raises CapSchemaError unless its argument is valid CAP 1.2 XML.

    A document with a DOCTYPE is refused before it is parsed: no entity is ever expanded
    (billion laughs) or resolved (XXE: file:///etc/passwd). The parser itself is made
    safe as well: no DTD loaded, no entity resolved, no network, no huge trees.
    """
    schema = etree.XMLSchema(etree.parse(str(CAP_SCHEMA)))
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )

    def validate(document: bytes) -> None:
        if declares_doctype(document):
            raise CapSchemaError(NO_DOCTYPE)
        try:
            tree = etree.fromstring(document, parser)
        except etree.XMLSyntaxError as e:
            raise CapSchemaError(f"not well-formed XML: {_one_line(e)}") from e
        except (etree.Error, ValueError) as e:
            raise CapSchemaError(f"not readable as XML: {_one_line(e)}") from e
        docinfo = tree.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:  # in an encoding not seen above
            raise CapSchemaError(NO_DOCTYPE)
        encoding = docinfo.encoding or "UTF-8"
        if encoding.upper().replace("-", "").replace("_", "") not in _ENCODINGS:
            raise CapSchemaError(f"CAP documents must be UTF-8 or UTF-16, not {encoding}")
        try:
            valid = schema.validate(tree)
        except etree.Error as e:
            raise CapSchemaError(f"schema validation failed: {_one_line(e)}") from e
        if not valid:
            error = schema.error_log.last_error
            raise CapSchemaError(f"line {error.line}: {_one_line(error.message)}")

    return validate
