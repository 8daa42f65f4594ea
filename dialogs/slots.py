"""Flattening a template into the ordered list of places an answer can go ("slots").

A plan's answers are stored under *instance paths*: a top-level question is `nulagesanalys`;
a question inside a repeatable group is `omrade[1].insats[3].problem`, where `1` and `3` are
stable instance ids kept in the plan state (`instances`), so removing "Insats 1" never
renumbers what was stored under "Insats 2". After the last instance of a repeatable group comes
a *more* slot (`omrade[1].insats[3].+`): "Lägga till en till?".

The slot list is derived from the template, the instance lists and the answers (conditions),
never stored: the engine, /oversikt and the export all read the plan through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.template import Condition, Group, Phase, Question, Step, Template
from dialogs.types import AnswerValue

MORE = "+"
FIRST_INSTANCE = "1"


@dataclass(frozen=True)
class Frame:
    """One enclosing group instance: the group, its 1-based number and stable id."""

    group: Group
    number: int
    instance_id: str
    path: str  # instance path of this instance, e.g. "omrade[1]"


@dataclass(frozen=True)
class Slot:
    path: str
    step: Step
    step_index: int
    trail: tuple[Frame, ...]
    question: Question | None = None  # None for a "more" slot
    more_of: Group | None = None  # the group a "more" slot asks about
    group_path: str = ""  # for a "more" slot: the group's instance-list key

    @property
    def is_more(self) -> bool:
        return self.more_of is not None

    @property
    def label(self) -> str:
        if self.question is not None:
            return self.question.label
        assert self.more_of is not None
        return self.more_of.add_prompt

    def breadcrumb(self) -> str:
        """"Område 2 › Insats 1 › Orsaker" — where this slot sits in the plan."""
        parts = [f"{f.group.label} {f.number}" for f in self.trail]
        if self.question is not None:
            parts.append(self.question.label)
        return " › ".join(parts)


def instances_of(state: Mapping[str, Any], group_path: str) -> list[str]:
    found = state.get("instances", {}).get(group_path)
    return list(found) if found else [FIRST_INSTANCE]


def _lookup(
    answers: Mapping[str, AnswerValue], trail: tuple[Frame, ...], field: str
) -> AnswerValue | None:
    """A field named in a condition: same instance first, then each enclosing level."""
    for depth in range(len(trail), -1, -1):
        prefix = trail[depth - 1].path + "." if depth else ""
        value = answers.get(prefix + field)
        if value is not None:
            return value
    return None


def condition_holds(
    cond: Condition | None, answers: Mapping[str, AnswerValue], trail: tuple[Frame, ...]
) -> bool:
    if cond is None:
        return True
    value = _lookup(answers, trail, cond.field)
    given = value is not None and not value.skipped
    if cond.answered is not None and given != cond.answered:
        return False
    shown = "" if value is None else (value.choice or value.text)
    if cond.equals is not None and shown != cond.equals:
        return False
    return not (cond.not_equals is not None and shown == cond.not_equals)


def plan_slots(
    template: Template,
    state: Mapping[str, Any],
    answers: Mapping[str, AnswerValue],
    phases: Iterable[Phase] = (Phase.PLANNING, Phase.FOLLOWUP),
) -> list[Slot]:
    """Every slot of the plan in the order it is asked, for the given phases."""
    wanted = set(phases)
    out: list[Slot] = []

    def rec(items: tuple[Question | Group, ...], step: Step, index: int, trail: tuple[Frame, ...]) -> None:
        prefix = trail[-1].path + "." if trail else ""
        for item in items:
            if item.phase not in wanted or not condition_holds(item.when, answers, trail):
                continue
            if isinstance(item, Question):
                out.append(Slot(prefix + item.id, step, index, trail, question=item))
                continue
            group_path = prefix + item.id
            ids = instances_of(state, group_path)
            for number, instance_id in enumerate(ids, start=1):
                frame = Frame(item, number, instance_id, f"{group_path}[{instance_id}]")
                rec(item.items, step, index, (*trail, frame))
            if item.repeat:
                last = f"{group_path}[{ids[-1]}]"
                out.append(
                    Slot(f"{last}.{MORE}", step, index, trail, more_of=item, group_path=group_path)
                )

    for index, step in enumerate(template.steps):
        rec(step.items, step, index, ())
    return out


def is_answered(slot: Slot, answers: Mapping[str, AnswerValue]) -> bool:
    """A question is answered when it has a value (or was skipped). A "more" slot counts as
    answered only with "nej": a "ja" on the last instance means its next one was removed."""
    value = answers.get(slot.path)
    if value is None:
        return False
    if slot.is_more:
        return value.choice == "nej"
    return True
