"""Storage: SQLAlchemy tables, engines and the Alembic migration run on start.

Site data the HR system pushes (employees, shift templates, histories) is kept as validated JSON of the wfm
domain models, so the roster engine reads exactly what was accepted. Rosters keep the effective scenario they
were solved for, which makes validation and re-rostering reproducible after the site changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import ClassVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict] = {dict: sa.JSON, list: sa.JSON, dt.datetime: sa.DateTime(timezone=True)}


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    business: Mapped[str] = mapped_column(sa.String(32))
    config: Mapped[dict]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[dt.datetime | None]


class ApiKeySiteRow(Base):
    """The sites a key may see and change (a grant may name a site that the key has yet to create)."""

    __tablename__ = "api_key_sites"
    key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)


class EmployeeRow(Base):
    __tablename__ = "employees"
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    data: Mapped[dict]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class ShiftTemplateRow(Base):
    __tablename__ = "shift_templates"
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    template_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    position: Mapped[int]
    data: Mapped[dict]


class HistoryRow(Base):
    __tablename__ = "histories"
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    csv: Mapped[str] = mapped_column(sa.Text)
    interval_min: Mapped[int]
    first_interval: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=False))
    last_interval: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=False))
    intervals: Mapped[int]
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class EventsRow(Base):
    """Daily forecast drivers of a demand series (advertising, promotions): ``date`` + numeric columns."""

    __tablename__ = "source_events"
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    csv: Mapped[str] = mapped_column(sa.Text)
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class ForecastRow(Base):
    __tablename__ = "forecasts"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.String(64))
    model: Mapped[str] = mapped_column(sa.String(64))
    start_date: Mapped[dt.date]
    days: Mapped[int]
    rows: Mapped[list]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class JobRow(Base):
    """A solve. ``claim`` is the token of the process running it: results are written only under that claim,
    so a worker orphaned by a server crash cannot overwrite what the restarted server decided."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    request: Mapped[dict]
    progress: Mapped[dict | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    roster_id: Mapped[str | None] = mapped_column(sa.String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    claim: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class RosterRow(Base):
    __tablename__ = "rosters"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str | None] = mapped_column(sa.String(32))
    based_on: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    start_date: Mapped[dt.date]
    days: Mapped[int]
    scenario: Mapped[dict]
    shifts: Mapped[list]
    summary: Mapped[dict]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    published_at: Mapped[dt.datetime | None]
    locked_at: Mapped[dt.datetime | None]


def make_engine(url: str) -> sa.Engine:
    """An engine; SQLite gets WAL and a busy timeout so the API and its worker processes can write in turn."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
