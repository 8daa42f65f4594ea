"""The plan read for a document: what goes under which heading, with every text cleaned.

Both the built-in Word document (`exports.docx`) and an organisation's own layout (docxtpl)
print the same outline, so the walk over the plan lives here once. It reads the plan through
`dialogs.slots.plan_slots` – the same slots the dialog asks – and turns each question into a
`Field` (label, guidance, what the teacher wrote, or why nothing is there) and each group
instance into an `Instance` holding its own fields and nested instances. Answers stored under
paths the template no longer has are left out; a question without an answer says so. Nothing
here knows about Word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from dialogs.dates import describe_period
from dialogs.messages import Messages
from dialogs.slots import Frame, Slot, plan_slots
from dialogs.template import Phase, Step, Template
from dialogs.types import AnswerValue, PlanRecord
from dialogs.validators import clean_text


class FieldState(StrEnum):
    ANSWERED = "answered"
    SKIPPED = "skipped"  # /hoppa on an optional question
    UNANSWERED = "unanswered"
    AWAITS_FOLLOWUP = "awaits_followup"  # a follow-up question before the follow-up


@dataclass(frozen=True)
class Field:
    """One question with its answer, ready to print."""

    path: str  # instance path, e.g. "omrade[1].insats[2].problem"
    question_id: str
    label: str
    breadcrumb: str  # "Insats 2 › Problem" inside groups, the label at top level
    guidance: str
    state: FieldState
    text: str = ""  # the answer as written (cleaned); "" when there is none
    items: tuple[str, ...] = ()  # list answers
    period: str = ""  # a date or period written out: "1 augusti 2026 – 30 juni 2027"
    required: bool = True  # an optional question left unanswered is left out of the document
    fill: str = ""  # the cell colour the template gives the chosen option ("C6EFCE"), if any

    @property
    def answered(self) -> bool:
        return self.state is FieldState.ANSWERED

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """The answer's lines, blank lines dropped: one Word paragraph each."""
        return tuple(line.strip() for line in self.text.split("\n") if line.strip())


@dataclass
class Instance:
    """One instance of a group ("Insats 2") with what it holds, in template order."""

    frame: Frame
    heading: str
    children: list[Node] = field(default_factory=list)


Node = Field | Instance


@dataclass(frozen=True)
class Section:
    """One step of the template ("Steg 1: Var är vi?") with its fields and instances."""

    step: Step
    title: str
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class PlanOutline:
    document_title: str  # "Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
    plan_title: str
    unit: str
    author: str  # "" when the plan does not say
    identity: tuple[Field, ...]  # the non-numbered steps: the plan's name, unit, author
    sections: tuple[Section, ...]  # the numbered steps, in template order


def answer_text(answers: Mapping[str, AnswerValue], path: str | None) -> str:
    """The cleaned text of a top-level answer, "" when missing or skipped."""
    if path is None:
        return ""
    value = answers.get(path)
    if value is None or value.skipped:
        return ""
    return one_line(value.text or value.choice or "")


def one_line(text: str) -> str:
    """Text for a title, a table cell or a file name: cleaned, line breaks as spaces."""
    return " ".join(clean_text(text).split())


def build_outline(template: Template, plan: PlanRecord, messages: Messages) -> PlanOutline:
    slots = [s for s in plan_slots(template, plan.state, plan.answers) if not s.is_more]
    plan_title = answer_text(plan.answers, template.title_field) or one_line(plan.title)
    document_title = one_line(template.document_title)
    if plan_title:
        document_title = messages(
            "export.title", document_title=document_title, plan_title=plan_title
        )
    identity: list[Field] = []
    sections: list[Section] = []
    for index, step in enumerate(template.steps):
        step_slots = [s for s in slots if s.step_index == index]
        if not step.numbered:
            identity.extend(_field(slot, plan.answers, messages) for slot in step_slots)
            continue
        nodes = _nest(step_slots, plan.answers, messages)
        sections.append(Section(step=step, title=one_line(step.title), nodes=tuple(nodes)))
    return PlanOutline(
        document_title=document_title,
        plan_title=plan_title,
        unit=answer_text(plan.answers, template.unit_field),
        author=answer_text(plan.answers, template.author_field),
        identity=tuple(identity),
        sections=tuple(sections),
    )


def _nest(slots: list[Slot], answers: Mapping[str, AnswerValue], messages: Messages) -> list[Node]:
    """Slots carry their enclosing instances as a trail; turn the flat list into a tree."""
    top: list[Node] = []
    open_instances: list[Instance] = []
    for slot in slots:
        depth = 0
        while (
            depth < len(open_instances)
            and depth < len(slot.trail)
            and open_instances[depth].frame.path == slot.trail[depth].path
        ):
            depth += 1
        del open_instances[depth:]
        for frame in slot.trail[depth:]:
            instance = Instance(frame=frame, heading=_heading(frame, answers, messages))
            (open_instances[-1].children if open_instances else top).append(instance)
            open_instances.append(instance)
        (open_instances[-1].children if open_instances else top).append(
            _field(slot, answers, messages)
        )
    return top


def _heading(frame: Frame, answers: Mapping[str, AnswerValue], messages: Messages) -> str:
    """ "Insats 2", "Insats 2: Strategisk handledning", or for a per-insats group the insats
    it is about: "Område 1 › Insats 2: Strategisk handledning"."""
    group = frame.group
    name = frame.item
    if group.name_field is not None:
        name = answer_text(answers, f"{frame.path}.{group.name_field}")
    name = one_line(name)
    if group.per is not None:
        return messages("export.instance_of", title=one_line(frame.title), name=name)
    if _numbered(name, one_line(group.label)):
        return name  # "Insats 3: Stöd …" as agreed with Skolverket, not "Insats 1: Insats 3: …"
    if name:
        return messages(
            "export.instance_named", label=one_line(group.label), number=frame.number, name=name
        )
    return messages("export.instance", label=one_line(group.label), number=frame.number)


def _numbered(name: str, label: str) -> bool:
    """The teacher wrote the number in the name already: "Insats 3: Stöd …", "3. Stöd …"."""
    pattern = rf"(?:{re.escape(label)}\s*)?\d+\b" if label else r"\d+\b"
    return re.match(pattern, name, flags=re.IGNORECASE) is not None


def _field(slot: Slot, answers: Mapping[str, AnswerValue], messages: Messages) -> Field:
    question = slot.question
    assert question is not None  # "more" slots are filtered out before
    base = Field(
        path=slot.path,
        question_id=question.id,
        label=one_line(question.label),
        breadcrumb=one_line(slot.breadcrumb()),
        guidance=one_line(question.guidance or ""),
        state=FieldState.UNANSWERED,
        required=question.required,
    )
    value = answers.get(slot.path)
    if value is not None and value.skipped:
        return replace(base, state=FieldState.SKIPPED)
    if value is None or _is_empty(value):
        followup = question.phase is Phase.FOLLOWUP or any(
            f.group.phase is Phase.FOLLOWUP for f in slot.trail
        )
        return replace(
            base, state=FieldState.AWAITS_FOLLOWUP if followup else FieldState.UNANSWERED
        )
    text = clean_text(value.text).strip()
    if not text and value.choice:
        text = one_line(value.choice)
    if not text and value.number is not None:
        text = str(value.number)
    items = tuple(i for i in (one_line(item) for item in value.items) if i)
    fill = question.colors.get(value.choice or "", "")
    return replace(
        base,
        state=FieldState.ANSWERED,
        text=text,
        items=items,
        period=_period(value),
        fill=fill,
    )


def _is_empty(value: AnswerValue) -> bool:
    return not (
        value.text.strip()
        or value.items
        or value.choice
        or value.number is not None
        or value.start is not None
    )


def _period(value: AnswerValue) -> str:
    if value.start is None:
        return ""
    return one_line(describe_period(value.start, value.end or value.start))
