"""The segmentation planner: who gets a warning version, on which channel.

The rules are decided here from the version and the catalog (`AudienceSpec`); the store
turns them into one set-based SQL query over residents (store/recipients.py), so a
county of 600,000 people is planned without a Python loop over residents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warning.catalog import Catalog
from warning.grades import Grade
from warning.model import Mode, Version

# Orange and red cannot be refused: a resident's minimum grade does not hold them back.
UNREFUSABLE = Grade.ORANGE


@dataclass(frozen=True)
class AudienceSpec:
    areas: tuple[str, ...]
    groups: frozenset[str]  # empty: everyone in the areas; else members (sub-groups included)
    hazard: str
    grade: Grade
    test_only: bool  # exercise and test warnings reach opted-in test recipients only
    no_voice_only_groups: frozenset[str]

    @property
    def refusable(self) -> bool:
        return self.grade.rank < UNREFUSABLE.rank


def spec_for(version: Version, catalog: Catalog) -> AudienceSpec:
    return AudienceSpec(
        areas=version.areas,
        groups=catalog.members_of(version.groups) if version.groups else frozenset(),
        hazard=version.hazard,
        grade=version.grade,
        test_only=version.mode is not Mode.ACTUAL,
        no_voice_only_groups=catalog.no_voice_only_groups(),
    )


@dataclass
class Audience:
    """The reach forecast of a version, before it is issued."""

    people: int = 0
    by_area: dict[str, int] = field(default_factory=dict)
    by_group: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    officers: int = 0
    terminals: int = 0
    terminals_online: int = 0
    terminal_population: int = 0
    unreachable: int = 0
    unreachable_by_area: dict[str, int] = field(default_factory=dict)
    unreachable_no_voice: int = 0
