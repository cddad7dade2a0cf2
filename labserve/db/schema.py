"""Tables. Changes to them go through a new Alembic revision in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """An API key: only a hash of the secret is kept, never the key itself."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Comma-separated scopes (``predict``, ``audit:read``, ``metrics``, ``admin``).
    scopes: Mapped[str] = mapped_column(String(200), default="predict")

    __table_args__ = (
        # one active key per name; a revoked name may be issued again
        Index(
            "uq_api_keys_active_name",
            "name",
            unique=True,
            sqlite_where=revoked_at.is_(None),
            postgresql_where=revoked_at.is_(None),
        ),
    )


class PredictionRecord(Base):
    """One audited prediction request: who, when, which model version, what in, what out."""

    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    model: Mapped[str] = mapped_column(String(100), index=True)
    model_version: Mapped[str] = mapped_column(String(200))
    caller: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[str | None] = mapped_column(Text, nullable=True)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    outputs: Mapped[str] = mapped_column(Text)
    latency_ms: Mapped[float] = mapped_column()
    # Assigned when the record is journaled; NULL for rows written before the journal existed.
    # Unique so that shipping a journal segment twice (after a crash) inserts nothing twice.
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_predictions_model_created", "model", "created_at"),
        Index("uq_predictions_record_id", "record_id", unique=True),
    )
