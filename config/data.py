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


def cap_validator() -> Callable[[bytes], None]:
    """A function that raises CapSchemaError unless its argument is valid CAP 1.2 XML."""
    schema = etree.XMLSchema(etree.parse(str(CAP_SCHEMA)))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

    def validate(document: bytes) -> None:
        try:
            tree = etree.fromstring(document, parser)
        except etree.XMLSyntaxError as e:
            raise CapSchemaError(f"not well-formed XML: {e}") from e
        if not schema.validate(tree):
            error = schema.error_log.last_error
            raise CapSchemaError(f"line {error.line}: {error.message}")

    return validate
