"""The plan template model: a YAML file in prompts/ validated by pydantic at start-up.

A template is a list of steps; a step holds questions and groups; a group may repeat (one
*utvecklingsområde* holds one or more *insatser*) and may nest. A broken file stops start-up
with the file, the field and the reason (`TemplateError`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class AnswerType(StrEnum):
    TEXT = "text"  # a short line (a name, a title)
    LONG_TEXT = "long_text"  # prose; may come over several messages
    LIST = "list"  # one item a line or bullet
    DATE = "date"  # a day or a period as teachers write it, normalised to start/end
    PERIOD = "period"  # same parser as DATE, prompted as a period
    COUNT = "count"  # a whole number
    CHOICE = "choice"  # one of `choices` (buttons), or free text under "Annat" when allowed
    YESNO = "yesno"


class Phase(StrEnum):
    PLANNING = "planning"
    FOLLOWUP = "followup"  # asked when the teacher returns for the follow-up


class Remind(StrEnum):
    """A date answer the bot comes back on (dialogs.reminders)."""

    FOLLOWUP = "followup"  # on the first school day of the date: "Hur blev det?"
    PERIOD_END = "period_end"  # on the last day of the period (a tidplan's end)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentVariant(StrEnum):
    """Which copy of the document: the working copy keeps the seed's guiding texts in grey,
    the copy to hand in leaves them out."""

    WORKING = "arbetsexemplar"
    CLEAN = "inlamning"


class Passage(Strict):
    """Text of the seed that only the document prints: a sub-heading and/or a paragraph."""

    title: str | None = None
    text: str | None = None


class Condition(Strict):
    """Ask a question only when another answer (same group instance or above) says so."""

    field: str  # question id, looked up in the same group instance first, then outward
    equals: str | None = None  # the answer's choice/text equals this
    not_equals: str | None = None
    answered: bool | None = None  # the field has a (non-skipped) answer


class Question(Strict):
    kind: Literal["question"] = "question"
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str  # heading in the document and in the chat
    short: str | None = None  # in the chat's "Område 2 › Insats 1 › Orsaker" when label is long
    prompt: str  # what the bot asks
    guidance: str | None = None  # the seed's guiding text (grey in the document)
    help: str | None = None  # /hjalp: what to write here
    example: str | None = None  # /hjalp and error messages: a real example from the seeds
    type: AnswerType = AnswerType.LONG_TEXT
    required: bool = True
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    choices: tuple[str, ...] = ()
    allow_other: bool = False  # CHOICE: an "Annat" button, then free text
    phase: Phase = Phase.PLANNING
    when: Condition | None = None
    # The value a follow-up date is read from (the handlingsplan's "När?" in Steg 4).
    followup_date: bool = False
    # A reminder from this answer (a follow-up_date question is a FOLLOWUP one anyway). On a
    # text question the first date mentioned in the text counts ("Uppföljning – när").
    remind: Remind | None = None
    # CHOICE: a cell colour (hex fill, e.g. "C6EFCE") per choice, for the export's shading.
    colors: dict[str, str] = Field(default_factory=dict)
    # CHOICE: the word counting answers per choice in the document, one and many
    # ("1 grön · 3 gula"): choice → [singular, plural].
    tally: dict[str, tuple[str, str]] = Field(default_factory=dict)
    # Document only: a sub-heading (and its text) printed before this question.
    subsection: Passage | None = None

    @model_validator(mode="after")
    def _choices_fit_type(self) -> Question:
        if self.type is AnswerType.CHOICE and not self.choices:
            raise ValueError(f"question {self.id!r}: type choice needs a non-empty 'choices' list")
        if self.type is not AnswerType.CHOICE and self.choices:
            raise ValueError(f"question {self.id!r}: 'choices' only goes with type choice")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError(f"question {self.id!r}: min_length is larger than max_length")
        unknown = [c for c in (*self.colors, *self.tally) if c not in self.choices]
        if unknown:
            raise ValueError(f"question {self.id!r}: colors/tally name choices it lacks: {unknown}")
        for fill in self.colors.values():
            if not re.fullmatch(r"[0-9A-Fa-f]{6}", fill):
                raise ValueError(f"question {self.id!r}: colour {fill!r} is not six hex digits")
        return self


class Layout(StrEnum):
    SECTIONS = "sections"  # a heading per question (the default)
    MATRIX = "matrix"  # `columns` side by side in one table, the other questions around it
    ROWS = "rows"  # one two-column table per instance: label | answer


class Group(Strict):
    kind: Literal["group"] = "group"
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str  # "Insats", "Utvecklingsområde": numbered as "Insats 2"
    repeat: bool = True
    add_prompt: str = "Vill du lägga till en till?"  # asked after each instance
    items: tuple[Item, ...]
    phase: Phase = Phase.PLANNING
    when: Condition | None = None
    # One instance per item of a list answer (a question id, looked up like a condition):
    # "for each goal". Not repeatable by the teacher; the item is shown with the questions.
    each: str | None = None
    # One instance per instance of a repeatable group elsewhere in the plan (its schema path,
    # "omrade.insats"): "a tidplan for each insats", asked in a later step.
    per: str | None = None
    name_field: str | None = None  # question id in this group whose answer names an instance
    title: str | None = None  # the document's heading over all instances (the seed's heading)
    guidance: str | None = None  # the seed's guiding text under that heading
    layout: Layout = Layout.SECTIONS
    columns: tuple[str, ...] = ()  # MATRIX: the question ids side by side, in order
    summary: bool = False  # list every instance in a summary table at the top of the document
    # Document only, for an `each` group: questions printed once after all instances (the
    # items answered, then what was said), not in every instance ("Mål som inte uppnåtts").
    gathered: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _shape_fits(self) -> Group:
        ids = {item.id for item in self.items}
        if (self.each or self.per) and self.repeat:
            raise ValueError(f"group {self.id!r}: a group with 'each' or 'per' has repeat: false")
        if self.each and self.per:
            raise ValueError(f"group {self.id!r}: give 'each' or 'per', not both")
        if self.name_field is not None and self.name_field not in ids:
            raise ValueError(f"group {self.id!r}: name_field {self.name_field!r} is not in items")
        if (self.layout is Layout.MATRIX) != bool(self.columns):
            raise ValueError(f"group {self.id!r}: layout matrix goes with a 'columns' list")
        missing = [c for c in (*self.columns, *self.gathered) if c not in ids]
        if missing:
            raise ValueError(f"group {self.id!r}: columns/gathered {missing} are not in items")
        return self


def _item_kind(raw: Any) -> str:
    if isinstance(raw, dict):
        return str(raw.get("kind") or ("group" if "items" in raw else "question"))
    return str(getattr(raw, "kind", "question"))


# A YAML item is a group when it has `items`, a question otherwise (`kind` may say so too).
Item = Annotated[
    Annotated[Question, Tag("question")] | Annotated[Group, Tag("group")],
    Discriminator(_item_kind),
]
Group.model_rebuild()


class Step(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str  # "Steg 1: Var är vi?"
    numbered: bool = True  # counts in "Steg 2 av 4"; the plan's identity does not
    intro: str | None = None
    items: tuple[Item, ...]


class Carry(Strict):
    """Answers a new plan may take over from one of the teacher's plans of another template
    (a slutredovisning from its åtgärdsplan): `map` is target schema path → source schema path.
    Both sit in groups of the same ids, so instance ids carry over unchanged."""

    source: str = Field(alias="from")  # the template id a plan is started from
    map: dict[str, str]


class Template(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    language: str = "sv"
    name: str  # "Handlingsplan"
    description: str  # one line, shown when choosing a template
    document_title: str  # the .docx title
    intro: str | None = None  # shown once when a plan starts
    source: str | None = None  # the seed it was written from
    order: int = 100  # place in the "which plan?" menu
    title_field: str  # question id that names the plan ("titel")
    unit_field: str | None = None  # question id of skola/enhet, used in the file name
    author_field: str | None = None
    carry: Carry | None = None
    # Document only: the seed's opening text, printed after the plan's identity.
    preamble: tuple[Passage, ...] = ()
    # The copy a teacher gets from /exportera unless they choose the other one.
    document_variant: DocumentVariant = DocumentVariant.WORKING
    steps: tuple[Step, ...]

    @model_validator(mode="after")
    def _ids_unique_and_references_exist(self) -> Template:
        seen: set[str] = set()
        for path, _ in self.walk():
            if path in seen:
                raise ValueError(f"two items share the id path {path!r}")
            seen.add(path)
        top_ids = {q.id for step in self.steps for q in step.items if isinstance(q, Question)}
        for name in ("title_field", "unit_field", "author_field"):
            ref = getattr(self, name)
            if ref is not None and ref not in top_ids:
                raise ValueError(f"{name} {ref!r} is not a top-level question of the template")
        items = dict(self.walk())
        list_ids = {
            q.id for q in items.values() if isinstance(q, Question) and q.type is AnswerType.LIST
        }
        for path, item in items.items():
            if not isinstance(item, Group):
                continue
            if item.each is not None and item.each not in list_ids:
                raise ValueError(f"group {path!r}: each {item.each!r} is not a list question")
            if item.per is not None:
                target = items.get(item.per)
                if not (isinstance(target, Group) and target.repeat):
                    raise ValueError(f"group {path!r}: per {item.per!r} is no repeatable group")
        if self.carry is not None:
            for carried in self.carry.map:
                if not isinstance(items.get(carried), Question):
                    raise ValueError(f"carry.map: {carried!r} is not a question of the template")
        return self

    def group(self, schema_path: str) -> Group:
        for path, item in self.walk():
            if path == schema_path and isinstance(item, Group):
                return item
        raise KeyError(schema_path)

    def walk(self) -> Iterator[tuple[str, Question | Group]]:
        """Every item with its schematic path ("omrade.insats.problem"), in order."""

        def rec(
            items: tuple[Question | Group, ...], prefix: str
        ) -> Iterator[tuple[str, Question | Group]]:
            for item in items:
                path = f"{prefix}{item.id}"
                yield path, item
                if isinstance(item, Group):
                    yield from rec(item.items, path + ".")

        for step in self.steps:
            yield from rec(step.items, "")

    def question(self, schema_path: str) -> Question:
        for path, item in self.walk():
            if path == schema_path and isinstance(item, Question):
                return item
        raise KeyError(schema_path)

    @cached_property
    def has_repeatable_parts(self) -> bool:
        """Whether the plan has parts asked again and again (områden, insatser): asked for
        every progress line, so worked out once."""
        return any(isinstance(item, Group) and item.repeat for _, item in self.walk())

    @property
    def numbered_steps(self) -> int:
        return sum(1 for s in self.steps if s.numbered)


class TemplateError(Exception):
    """A template file that cannot be used; the message names file, field and reason."""


def load_template(path: Path) -> Template:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"{path}: kan inte läsas som YAML: {exc}") from exc
    try:
        return Template.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(hela filen)"
        raise TemplateError(
            f"{path}: fältet {field}: {first['msg']}"
            + (f" ({len(exc.errors())} fel totalt)" if len(exc.errors()) > 1 else "")
        ) from exc


def load_templates(directory: Path = PROMPTS_DIR, language: str = "sv") -> dict[str, Template]:
    """All `*.<language>.yaml` plan templates in `directory` (messages files excluded)."""
    templates: dict[str, Template] = {}
    for path in sorted(directory.glob(f"*.{language}.yaml")):
        if path.name.startswith("messages."):
            continue
        template = load_template(path)
        if template.id in templates:
            raise TemplateError(f"{path}: fältet id: mallen {template.id!r} finns redan")
        templates[template.id] = template
    if not templates:
        raise TemplateError(f"{directory}: inga planmallar (*.{language}.yaml) hittades")
    return dict(sorted(templates.items(), key=lambda item: (item[1].order, item[0])))
