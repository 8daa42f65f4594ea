"""The working copy one engine step mutates (`Ctx`), a plan as the step sees it (`Plan`:
the stored record with its typed state), and the small reads every concern shares: the
plan's slots, the cursor's slot, counts, buttons of the current prompt."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from dialogs import buttons
from dialogs.messages import Messages
from dialogs.reminders import ReminderRules
from dialogs.slots import Slot, is_answered, plan_slots
from dialogs.state import PlanState, UserState
from dialogs.template import Phase, Question, Template
from dialogs.types import (
    AnswerRecord,
    AnswerValue,
    Choice,
    Inbound,
    Outbound,
    PlanRecord,
    PlanStatus,
    Snapshot,
)


@dataclass
class Plan:
    """A plan during a step: its record (answers, status, title) and its typed state."""

    record: PlanRecord
    state: PlanState

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def template_id(self) -> str:
        return self.record.template_id

    @property
    def answers(self) -> dict[str, AnswerValue]:
        return self.record.answers

    @property
    def title(self) -> str:
        return self.record.title

    @title.setter
    def title(self, value: str) -> None:
        self.record.title = value

    @property
    def status(self) -> PlanStatus:
        return self.record.status

    @status.setter
    def status(self, value: PlanStatus) -> None:
        self.record.status = value

    @property
    def updated_at(self) -> dt.datetime:
        return self.record.updated_at

    def stored(self) -> PlanRecord:
        return self.record.model_copy(update={"state": self.state.dump()})


@dataclass
class Ctx:
    """Everything one step reads and writes; turned into Changes at the end."""

    templates: dict[str, Template]
    msg: Messages
    snapshot: Snapshot
    inbound: Inbound | None
    now: dt.datetime
    user: UserState
    plans: dict[str, Plan]
    # Messages this close after a free-text answer belong to it (dialogs/bursts.py); zero
    # where a message is never split by the sender (the terminal: a paste is one message).
    burst: dt.timedelta = dt.timedelta(0)
    touched: set[str] = field(default_factory=set)
    answers: list[AnswerRecord] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    delete_user: bool = False
    out: list[Outbound] = field(default_factory=list)
    rules: ReminderRules = field(default_factory=ReminderRules)  # school hours, nudges
    _slot_cache: dict[tuple[Any, ...], list[Slot]] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        templates: dict[str, Template],
        msg: Messages,
        snapshot: Snapshot,
        inbound: Inbound | None,
        now: dt.datetime,
        burst: dt.timedelta = dt.timedelta(0),
    ) -> Ctx:
        # Answers are frozen values, so copying the dict suffices; the state is loaded anew.
        plans = {
            pid: Plan(p.model_copy(update={"answers": dict(p.answers)}), PlanState.load(p.state))
            for pid, p in snapshot.plans.items()
        }
        user = UserState.load(snapshot.user.state)
        return cls(templates, msg, snapshot, inbound, now, user, plans, burst)

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def active(self) -> Plan | None:
        pid = self.user.active
        return self.plans.get(pid) if pid is not None else None

    def touch(self, plan: Plan) -> None:
        plan.record.updated_at = self.now
        self.touched.add(plan.id)

    def template(self, plan: Plan) -> Template:
        return self.templates[plan.template_id]

    def title(self, plan: Plan) -> str:
        """The plan's own name, or its kind's before it has one."""
        return plan.title or self.template(plan).name

    def say(self, key: str, **params: Any) -> None:
        self.out.append(Outbound(text=self.msg(key, **params)))

    # -------------------------------------------------------------- buttons

    def tag(self) -> str:
        """Identifies the prompt a button belongs to: changes whenever the question does."""
        plan = self.active
        parts = [
            str(self.user.active),
            # Key order is not kept by every database (PostgreSQL's JSONB sorts keys).
            json.dumps(self.user.menu_json(), sort_keys=True, default=str),
        ]
        if plan is not None:
            st = plan.state
            parts += [str(st.cursor), str(st.mode_name), str(st.rev)]
        return buttons.tag_of(parts)

    def choices(self, pairs: list[tuple[str, str]]) -> tuple[Choice, ...]:
        tag = self.tag()
        return tuple(
            Choice(label=label, value=buttons.scoped(tag, token)) for label, token in pairs
        )

    # -------------------------------------------------------------- slots

    def phases(self, plan: Plan) -> tuple[Phase, ...]:
        if plan.state.phase is Phase.FOLLOWUP:
            return (Phase.PLANNING, Phase.FOLLOWUP)
        return (Phase.PLANNING,)

    def slots(self, plan: Plan) -> list[Slot]:
        # Asked several times a step; the answers only change through answering.store, which
        # bumps "rev", and the instance lists are part of the key.
        st = plan.state
        key = (plan.id, st.rev, repr(st.instances), st.phase, len(plan.answers))
        found = self._slot_cache.get(key)
        if found is None:
            found = plan_slots(self.template(plan), st.slot_view(), plan.answers, self.phases(plan))
            self._slot_cache[key] = found
        return found

    def cursor_slot(self, plan: Plan) -> Slot | None:
        cursor = plan.state.cursor
        if cursor is None:
            return None
        for slot in self.slots(plan):
            if slot.path == cursor:
                return slot
        return None

    def first_open(self, plan: Plan) -> str | None:
        template = self.template(plan)
        for slot in plan_slots(template, plan.state.slot_view(), plan.answers, self.phases(plan)):
            if not is_answered(slot, plan.answers):
                return slot.path
        return None

    def planning_complete(self, plan: Plan) -> bool:
        slots = plan_slots(
            self.template(plan), plan.state.slot_view(), plan.answers, (Phase.PLANNING,)
        )
        return all(
            is_answered(s, plan.answers) or (s.question is not None and not s.question.required)
            for s in slots
            if not s.is_more
        )

    def counts(self, plan: Plan) -> tuple[int, int]:
        return counts(self.template(plan), plan.state, plan.answers)


def counts(
    template: Template, state: PlanState, answers: dict[str, AnswerValue]
) -> tuple[int, int]:
    phases = (Phase.PLANNING, Phase.FOLLOWUP) if state.phase is Phase.FOLLOWUP else ()
    slots = [
        s
        for s in plan_slots(template, state.slot_view(), answers, phases or (Phase.PLANNING,))
        if not s.is_more
    ]
    return sum(1 for s in slots if s.path in answers), len(slots)


def has_followup(template: Template) -> bool:
    return any(
        isinstance(item, Question) and item.phase is Phase.FOLLOWUP for _, item in template.walk()
    )
