"""Certificates: a verifiable record of a completion. The PDF is drawn from this record
each time (and cached by content), so correcting a name corrects the certificate."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow
from lms.models.learning import Completion
from lms.models.people import Organisation


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id", ondelete="CASCADE"), unique=True)
    # Stored without dashes; shown grouped as XXXX-XXXX-XXXX-XXXX-C.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    completion: Mapped[Completion] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
