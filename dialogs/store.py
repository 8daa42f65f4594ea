"""What the engine needs from storage, declared here and implemented in storage/.

`MemoryStore` is the in-memory implementation the engine's own tests use; storage/ provides
the SQLAlchemy one. Both keep the same promise: `commit` applies all `Changes` and records the
idempotency key in one transaction, and only if the user's version is still the one loaded.
"""

from __future__ import annotations

import copy
from typing import Protocol

from dialogs.types import AnswerRecord, Changes, PlanRecord, Snapshot, UserRecord, UserRef


class VersionConflict(Exception):
    """Someone else committed for this user since the snapshot was loaded: load and retry."""


class SessionStore(Protocol):
    async def load(self, user: UserRef, key: str) -> Snapshot:
        """The user (new if unknown), all their plans with current answers, and whether
        `key` has been processed already."""
        ...

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        """Apply `changes` and record `key`, atomically; raise VersionConflict if the user's
        version moved since `snapshot` was loaded."""
        ...


class MemoryStore:
    """A SessionStore in a dict, for tests of the engine alone."""

    def __init__(self) -> None:
        self.users: dict[UserRef, UserRecord] = {}
        self.plans: dict[str, tuple[UserRef, PlanRecord]] = {}
        self.log: list[AnswerRecord] = []
        self.keys: set[str] = set()
        self._next_id = 1

    async def load(self, user: UserRef, key: str) -> Snapshot:
        record = self.users.get(user) or UserRecord(ref=user)
        plans = {
            pid: copy.deepcopy(plan) for pid, (owner, plan) in self.plans.items() if owner == user
        }
        return Snapshot(user=copy.deepcopy(record), plans=plans, key_seen=key in self.keys)

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        ref = snapshot.user.ref
        current = self.users.get(ref)
        if (current.version if current else 0) != snapshot.user.version:
            raise VersionConflict(ref)
        if changes.delete_user:
            self.users.pop(ref, None)
            for pid in [p for p, (o, _) in self.plans.items() if o == ref]:
                del self.plans[pid]
            self.log = [a for a in self.log if a.plan_id in self.plans]
            self.keys.add(key)
            return
        if current is None:
            current = UserRecord(id=self._next_id, ref=ref)
            self._next_id += 1
        self.users[ref] = UserRecord(
            id=current.id,
            ref=ref,
            state=copy.deepcopy(changes.user_state),
            version=current.version + 1,
        )
        for pid in changes.deleted_plans:
            self.plans.pop(pid, None)
            self.log = [a for a in self.log if a.plan_id != pid]
        for pid, plan in changes.plans.items():
            self.plans[pid] = (ref, copy.deepcopy(plan))
        self.log.extend(changes.answers)
        self.keys.add(key)

    async def history(self, plan_id: str) -> list[AnswerRecord]:
        """Every answer given in the plan, oldest first (not part of SessionStore: tests
        read it)."""
        return [a for a in self.log if a.plan_id == plan_id]
