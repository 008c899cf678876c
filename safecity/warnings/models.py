"""Tables of the warnings capability: warnings (one row per CAP message) and their deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.db import Base


class Warning(Base):
    """A warning message. An update or a cancel is a new row pointing at the one it replaces."""

    __tablename__ = "warnings"
    __table_args__ = (Index("ix_warnings_status_expires", "status", "expires"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="local", index=True)  # local | external
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    msg_type: Mapped[str] = mapped_column(String(8), default="Alert")
    identifier: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    sender: Mapped[str] = mapped_column(String(200), default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sent: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    references: Mapped[str] = mapped_column(Text, default="")
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("warnings.id"), nullable=True, index=True
    )
    event_type: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8), index=True)
    headline: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    instruction: Mapped[str] = mapped_column(Text, default="")
    headline_en: Mapped[str] = mapped_column(String(300), default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    instruction_en: Mapped[str] = mapped_column(Text, default="")
    areas: Mapped[list] = mapped_column(JSON, default=list)
    division_code: Mapped[str] = mapped_column(String(12), index=True)
    effective: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    onset: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    alarm_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    risk_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    cap_xml: Mapped[str | None] = mapped_column(Text, nullable=True)
    targeting: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    issued_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # The heading the generic kind pages read (safecity.warnings.kinds).
    @property
    def name(self) -> str:
        """The heading of the warning's page."""
        return self.headline


class Delivery(Base):
    """One message to one channel target; the dispatcher works through the pending ones."""

    __tablename__ = "warning_deliveries"
    __table_args__ = (
        UniqueConstraint("warning_id", "channel", "target", name="uq_warning_deliveries_target"),
        Index("ix_warning_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warning_id: Mapped[int] = mapped_column(
        ForeignKey("warnings.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    reached: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
