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

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.template import Condition, Group, Phase, Question, Step, Template
from dialogs.types import AnswerValue

MORE = "+"
FIRST_INSTANCE = "1"
_IDS = re.compile(r"\[([^\]]+)\]")


@dataclass(frozen=True)
class Frame:
    """One enclosing group instance: the group, its 1-based number and stable id.

    An instance of an `each` group stands for one item of a list answer (`item` is the goal's
    text); an instance of a `per` group for one instance of another group (`title` is where
    that one sits, "Område 1 › Insats 2", and `item` its name)."""

    group: Group
    number: int
    instance_id: str
    path: str  # instance path of this instance, e.g. "omrade[1]"
    item: str = ""
    title: str = ""

    @property
    def crumb(self) -> str:
        if self.group.per is not None:
            return f"{self.group.label}: {self.title}"
        return f"{self.group.label} {self.number}"

    @property
    def group_path(self) -> str:
        """The key of this group's instance list: "omrade[1].insats"."""
        return self.path[: self.path.rindex("[")]


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
        """ "Område 2 › Insats 1 › Orsaker" — where this slot sits in the plan."""
        parts = [f.crumb for f in self.trail]
        if self.question is not None:
            parts.append(self.question.short or self.question.label)
        return " › ".join(parts)


def schema_path(path: str) -> str:
    """ "omrade[1].insats[3].problem" → "omrade.insats.problem": the template's path."""
    return _IDS.sub("", path)


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


def mirrored_instances(
    template: Template,
    state: Mapping[str, Any],
    answers: Mapping[str, AnswerValue],
    schema_path: str,
) -> list[tuple[str, str, str]]:
    """Every instance of the repeatable group at `schema_path` ("omrade.insats") across the
    plan, as (instance path, "Område 1 › Insats 2", its name or "")."""
    segments = schema_path.split(".")
    found: list[tuple[str, list[str]]] = [("", [])]
    group: Group | None = None
    for depth, segment in enumerate(segments):
        group = template.group(".".join(segments[: depth + 1]))
        found = [
            (f"{prefix}{segment}[{iid}]", [*crumbs, f"{group.label} {number}"])
            for prefix, crumbs in ((p + "." if p else p, c) for p, c in found)
            for number, iid in enumerate(instances_of(state, prefix + segment), start=1)
        ]
    assert group is not None
    out = []
    for path, crumbs in found:
        name = answers.get(f"{path}.{group.name_field}") if group.name_field else None
        shown = "" if name is None or name.skipped else (name.text or name.choice or "")
        out.append((path, " › ".join(crumbs), " ".join(shown.split())))
    return out


def plan_slots(
    template: Template,
    state: Mapping[str, Any],
    answers: Mapping[str, AnswerValue],
    phases: Iterable[Phase] = (Phase.PLANNING, Phase.FOLLOWUP),
) -> list[Slot]:
    """Every slot of the plan in the order it is asked, for the given phases."""
    wanted = set(phases)
    out: list[Slot] = []

    def rec(
        items: tuple[Question | Group, ...], step: Step, index: int, trail: tuple[Frame, ...]
    ) -> None:
        prefix = trail[-1].path + "." if trail else ""
        for item in items:
            if item.phase not in wanted or not condition_holds(item.when, answers, trail):
                continue
            if isinstance(item, Question):
                out.append(Slot(prefix + item.id, step, index, trail, question=item))
                continue
            group_path = prefix + item.id
            if item.each is not None:
                value = _lookup(answers, trail, item.each)
                entries = () if value is None or value.skipped else value.items
                for number, text in enumerate(entries, start=1):
                    frame = Frame(item, number, str(number), f"{group_path}[{number}]", item=text)
                    rec(item.items, step, index, (*trail, frame))
                continue
            if item.per is not None:
                mirrored = mirrored_instances(template, state, answers, item.per)
                for number, (path, title, name) in enumerate(mirrored, start=1):
                    instance_id = "-".join(_IDS.findall(path))
                    frame = Frame(
                        item, number, instance_id, f"{group_path}[{instance_id}]", name, title
                    )
                    rec(item.items, step, index, (*trail, frame))
                continue
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
