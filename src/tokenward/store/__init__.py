"""Storage: the Protocol, its SQLAlchemy and in-memory implementations, the migrations."""

from tokenward.store.base import KeyConflict, Store
from tokenward.store.memory import MemoryStore
from tokenward.store.records import (
    PurgeCounts,
    RefreshLookup,
    Revocation,
    Session,
    SigningKeyRecord,
    User,
)
from tokenward.store.sql import SqlStore

__all__ = [
    "KeyConflict",
    "MemoryStore",
    "PurgeCounts",
    "RefreshLookup",
    "Revocation",
    "Session",
    "SigningKeyRecord",
    "SqlStore",
    "Store",
    "User",
]
