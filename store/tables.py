"""The schema as SQLAlchemy Core tables; Alembic migrations create and change it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false as sa_false
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

areas = Table(
    "areas",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("parent_code", String(20), nullable=True, index=True),
    Column("level", String(20), nullable=False),
    Column("population", Integer, nullable=False, server_default="0"),
    Column("households", Integer, nullable=False, server_default="0"),
    # "sample" for the shipped figures, else the source named by `ewb areas population`.
    Column("population_source", String(100), nullable=False, server_default="none"),
)

# Every (ancestor, descendant) pair of the area tree, the area itself at depth 0: lets the
# planner find "residents under these areas" with one join. Rebuilt whenever areas change.
area_closure = Table(
    "area_closure",
    metadata,
    Column("ancestor", String(20), nullable=False),
    Column("descendant", String(20), nullable=False, index=True),
    Column("depth", Integer, nullable=False),
    PrimaryKeyConstraint("ancestor", "descendant"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("org", String(20), nullable=False),
    Column("areas", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("name", String(100)),
    Column("phone", String(20)),
    Column("wecom_id", String(64)),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

warnings = Table(
    "warnings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
)

warning_versions = Table(
    "warning_versions",
    metadata,
    Column("warning_id", Integer, ForeignKey("warnings.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("hazard", String(40), nullable=False, index=True),
    Column("grade", String(10), nullable=False),
    Column("areas", JSON, nullable=False),
    Column("groups", JSON, nullable=False),
    Column("onset", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime, nullable=False),
    Column("mode", String(10), nullable=False),
    Column("author", String(64), nullable=False),
    Column("editors", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("headline", JSON, nullable=False),
    Column("description", JSON, nullable=False),
    Column("instruction", JSON, nullable=False),
    Column("round", Integer, nullable=False),
    Column("rejected_by", String(64)),
    Column("rejected_reason", Text),
    Column("rejected_at", UTCDateTime),
    Column("submitted_at", UTCDateTime),
    Column("approved_at", UTCDateTime),
    Column("issued_at", UTCDateTime),
    Column("issued_by", String(64)),
    Column("ended_at", UTCDateTime),
    Column("release_at", UTCDateTime, index=True),  # approved for release at its onset
    Column("release_by", String(64)),
    Column("cap_identifier", String(80), unique=True),
    Column("cap_references", Text),
    # Bumped on every update; an update that finds another value lost a race.
    Column("row_version", Integer, nullable=False),
    PrimaryKeyConstraint("warning_id", "number"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("warning_id", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("step", Integer, nullable=False),
    Column("role", String(20), nullable=False),
    Column("approved_by", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # SHA-256 of the messages the approver saw (templates/approval.py); NULL before 0007.
    Column("rendering_sha256", String(64)),
    # The approver chose to send Chinese texts that have no English translation.
    Column("chinese_only", Boolean, nullable=False, server_default=sa_false()),
    PrimaryKeyConstraint("warning_id", "number", "round", "step"),
    # The same person never gives two approvals of one version in one round.
    UniqueConstraint(
        "warning_id", "number", "round", "approved_by", name="uq_approvals_one_per_person"
    ),
    ForeignKeyConstraint(
        ["warning_id", "number"], ["warning_versions.warning_id", "warning_versions.number"]
    ),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),
    Column("warning_id", Integer, index=True),
    Column("version", Integer),
    Column("outcome", String(20), nullable=False),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row (id 1): the seq and hash of the last audit entry. Appending locks it, which
# keeps the chain linear under concurrent writers and reveals rows deleted from the end.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("summary", JSON),  # what planning found: recipients per kind and channel
    # The residents' planning goes in slices of residents by id: the last id planned
    # before this row's slice (NULL: the first slice).
    Column("after_id", Integer),
)

sequences = Table(
    "sequences",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

residents = Table(
    "residents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("phone", String(20)),  # E.164
    Column("phone_last4", String(4), index=True),  # for "search by phone suffix"
    Column("wechat_openid", String(64)),
    Column("locale", String(10), nullable=False),
    Column("area_code", String(20), ForeignKey("areas.code"), nullable=False, index=True),
    # Grade rank 1 (blue) … 4 (red): the lowest grade the person wants, for every hazard.
    Column("min_grade", Integer, nullable=False),
    Column("test_recipient", Boolean, nullable=False),
    Column("consent_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

resident_groups = Table(
    "resident_groups",
    metadata,
    Column("resident_id", Integer, ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
    Column("group_code", String(40), nullable=False, index=True),
    PrimaryKeyConstraint("resident_id", "group_code"),
)

# The person's channels in preference order (rank 1 first); channels they did not list
# follow in the default order, so the planner can fall back to what they have.
resident_channels = Table(
    "resident_channels",
    metadata,
    Column("resident_id", Integer, ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("rank", Integer, nullable=False),
    PrimaryKeyConstraint("resident_id", "channel"),
)

# Per-hazard override of residents.min_grade (grade rank).
resident_hazard_grades = Table(
    "resident_hazard_grades",
    metadata,
    Column("resident_id", Integer, ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
    Column("hazard", String(40), nullable=False),
    Column("min_grade", Integer, nullable=False),
    PrimaryKeyConstraint("resident_id", "hazard"),
)

# Unsubscribes (an SMS reply of TD/STOP): kept apart from the imported preferences so a
# re-import never subscribes someone again.
channel_optouts = Table(
    "channel_optouts",
    metadata,
    Column("resident_id", Integer, ForeignKey("residents.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("resident_id", "channel"),
)

terminals = Table(
    "terminals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("area_code", String(20), ForeignKey("areas.code"), nullable=False, index=True),
    Column("endpoint_id", String(64), nullable=False, unique=True),
    # Empty: the area's population shared equally among its terminals.
    Column("covered_population", Integer),
    Column("status", String(10), nullable=False),
    Column("last_heartbeat_at", UTCDateTime),
)

# One row per version × recipient × channel: what was (or is to be) sent to whom.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("recipient_kind", String(10), nullable=False),  # resident officer terminal chief
    Column("recipient_id", String(64), nullable=False),
    Column("channel", String(20), nullable=False),  # sms | wechat | wecom | broadcast
    Column("address", String(80), nullable=False),  # phone, openid, WeCom user, endpoint
    Column("state", String(20), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("provider_id", String(128), index=True),  # WeCom msgids run to ~86 characters
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Grade rank × 10, + 1 for officers and terminals: red first, the relays before residents.
    Column("priority", Integer, nullable=False, server_default="0"),
    # Set for retries and fallbacks (picked up by the retry sweep); None while in a batch.
    Column("next_attempt_at", UTCDateTime, index=True),
    # The delivery was being sent when its worker died, and was sent again.
    Column("resent_after_crash", Boolean, nullable=False, server_default=sa_false()),
    # 0 for the first send; then 1, 2 … for a red warning repeated on loudspeakers, an
    # officer reminded to acknowledge, a duty chief told of officers who did not.
    Column("repeat", Integer, nullable=False, server_default="0"),
    UniqueConstraint(
        "warning_id",
        "version",
        "recipient_kind",
        "recipient_id",
        "channel",
        "repeat",
        name="uq_deliveries_once",
    ),
)

# A slice of a version's deliveries (one recipient kind and channel, ids first..last) that
# one worker sends; Celery tasks carry batch ids. Retries go by the sweep, not by batches.
delivery_batches = Table(
    "delivery_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("recipient_kind", String(10), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("first_id", Integer, nullable=False),
    Column("last_id", Integer, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(10), nullable=False, index=True),  # pending running done cancelled
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    # Distributed mode: when a task was last enqueued for it, and who holds it (a worker
    # renews heartbeat_at per chunk; a stale holder's batch may be taken over).
    Column("queued_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),
    Column("lease", String(32)),
    # A batch whose run failed waits until then before it is tried again.
    Column("not_before", UTCDateTime),
)

# Append-only: every attempt, provider callback, acknowledgement and playback.
delivery_events = Table(
    "delivery_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("event", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("provider_code", String(40)),
    Column("detail", Text),
)

# Who a warning version reached and how, once per person and way (reach/rules.py says
# which events count): "sms" and "wechat" (the message arrived), "ack" (the resident
# answered), "relay" (an information officer reached them in person). The area is the
# resident's at that moment. Coverage is counted from here.
reach = Table(
    "reach",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("resident_id", Integer, nullable=False),
    Column("area_code", String(20), nullable=False),
    Column("via", String(10), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("delivery_id", Integer),
    Column("relay_id", Integer),
    UniqueConstraint("warning_id", "version", "resident_id", "via", name="uq_reach_once"),
    Index("ix_reach_version_area", "warning_id", "version", "area_code"),
)

# An information officer's report of relaying a warning in one village: households told
# (door to door, gong, loudspeaker car) and a note; residents named in it are in `reach`.
relay_reports = Table(
    "relay_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("area_code", String(20), ForeignKey("areas.code"), nullable=False),
    Column("officer", String(64), nullable=False),
    Column("households", Integer, nullable=False),
    Column("residents", Integer, nullable=False, server_default="0"),
    Column("note", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_relay_reports_version", "warning_id", "version"),
)

# The gap check of a live red or orange version (reach/gaps.py): done once, at
# `gap_check_minutes` after the issue; the row claims it.
gap_checks = Table(
    "gap_checks",
    metadata,
    Column("warning_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("gaps", Integer, nullable=False),  # areas found below target
    PrimaryKeyConstraint("warning_id", "version"),
)

# Failed sign-ins per username and client address (web/signin.py): after
# `login_max_failures` failures the pair waits `blocked_until`, a delay that doubles with
# each further failure; a success or an admin's unlock deletes the row.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("username", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("first_failure_at", UTCDateTime, nullable=False),
    Column("blocked_until", UTCDateTime),
    PrimaryKeyConstraint("username", "address"),
)

# What the broadcast platform reported about an EBM (EBMStateResponse), newest last: the
# state, and the coverage rate and areas when it gave them.
broadcast_states = Table(
    "broadcast_states",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ebm_id", String(35), nullable=False, index=True),
    Column("code", Integer, nullable=False),
    Column("description", String(200), nullable=False),
    Column("coverage_rate", Float),
    Column("coverage_areas", String(2000), nullable=False),
    Column("reported_at", UTCDateTime),
    Column("received_at", UTCDateTime, nullable=False),
)

# One row (id 1): ewb's heartbeats to the broadcast platform, the last it answered, and how
# many beats in a row went unanswered (3 raise the alert on the live page).
platform_link = Table(
    "platform_link",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_beat_at", UTCDateTime),
    Column("last_answer_at", UTCDateTime),
    Column("missed", Integer, nullable=False),
)

# A provider's status callback as it arrived, stored before it is answered; the receipts
# loop (delivery/receipts.py) applies it to its deliveries and stamps processed_at with
# what became of it: recorded, replayed (already recorded) or unknown (no send of ours).
provider_callbacks = Table(
    "provider_callbacks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(20), nullable=False),  # twilio
    Column("provider_id", String(128), nullable=False),  # Twilio's MessageSid
    Column("status", String(32), nullable=False),
    Column("error_code", String(32)),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("outcome", String(10)),
    Index(
        "ix_provider_callbacks_pending",
        "id",
        postgresql_where=Column("processed_at").is_(None),
        sqlite_where=Column("processed_at").is_(None),
    ),
)
