"""The ingestion tables: the queue of accepted capture batches, the outbox of applied ones
waiting to be copied into the analytics store, and the dead letters (see docs/ingestion.md).

A capture request commits one queue row before answering 200; applying it marks it applied and
writes its person changes and an outbox entry referring to it, in one transaction; copying that
entry into the analytics store deletes both. An accepted batch survives a crash at any point
after.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from hedgerow.db.base import Base
from hedgerow.db.types import UTCDateTime, utcnow


class IngestionOutbox(Base):
    __tablename__ = "ingestion_outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # see outbox.encode_entry
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestionQueue(Base):
    """Accepted capture batches, until copied into the analytics store (those applied to
    persons already are listed in `ingestion_applied`).

    A capture request only appends here (one row per batch, encoded by `batch_format`), so a 200
    costs one short insert shared with concurrent requests; the applier applies persons and the
    replicator copies events, both in large groups.
    """

    __tablename__ = "ingestion_queue"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    project_id: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # see queue.encode_batch
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IngestionApplied(Base):
    """Queued batches whose person changes are applied: each is carried by an outbox entry that
    refers to it (the payload is not copied), and leaves the queue, and this table, when the
    entry is copied into the analytics store."""

    __tablename__ = "ingestion_applied"

    queue_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("ingestion_queue.id", ondelete="CASCADE"),
        primary_key=True,
    )


class IngestionDeadLetter(Base):
    """A queued batch the replicator could not apply, set aside with the error so that the
    batches behind it keep flowing; nothing is deleted, and an operator can replay it."""

    __tablename__ = "ingestion_dead_letters"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    queue_id: Mapped[int] = mapped_column(BigInteger)
    project_id: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
