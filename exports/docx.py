"""The finished plan as a Word document: python-docx, or an organisation's own layout (docxtpl).

The document follows the template: the plan's name as title, its identity (name, unit, author,
date) as a small table, then each step as Heading 1 and each question as a heading with the
seed's guiding text in small grey type and the teacher's answer under it. Repeatable groups get
a numbered heading per instance ("Insats 2") and their questions one level deeper. A draft says
"UTKAST" at the top, in the page header and in the title property.

Every Swedish word added here comes from prompts/messages/export.sv.yaml. The teacher's text is
only ever a value: it is cleaned of what Word cannot hold and never rendered as a template.
Rendering of one node is a small function (`render_field`, `render_instance`, ...) so a layout
such as the åtgärdsplan's matrix table can take over one group without touching the rest.

Group layouts (from the template): `matrix` puts the group's `columns` side by side in one
table (the seed's column headings, list answers as bullets inside the cells) with the other
questions around it; `rows` gives each instance a two-column table, label | answer, and an
`each` group inside it one row per item, the item's cell shaded in the colour its answer
chose, without the questions repeated in every item; a group's `gathered` questions come
once after its items (seed 004's "Mål som inte uppnåtts och vad det beror på"). Groups marked
`summary` are also gathered into a table at the top, per insats with its count per colour. An
optional question left unanswered is left out, and so is a section with nothing left in it.

Page flow (what a principal sees when the plan is printed): every document starts from the
project's own base, exports/base.docx (exports/base_document.py), whose headings and
"Vägledning" style keep with the next paragraph and whose body text has orphan control, so a
question never ends a page without the first lines of its answer. Tables have their column
widths in the table grid and a fixed layout; header rows repeat on each page; rows do not split
unless a row is longer than a page could hold. A step holding a matrix is set in landscape.

Two copies (`DocumentVariant`): the working copy ("arbetsexemplar") prints the seed's guiding
texts, the copy to hand in ("inlamning") leaves them out; the template names its default.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import docx
import jinja2
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.opc.coreprops import CoreProperties
from docx.opc.exceptions import OpcError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate  # type: ignore[import-untyped]
from jinja2.sandbox import SandboxedEnvironment

from dialogs.messages import Messages
from dialogs.slots import schema_path
from dialogs.template import DocumentVariant, Group, Layout, Question, Template
from dialogs.types import Document, PlanRecord
from exports.base_document import (
    BASE_DOCX,
    GREY,
    GUIDANCE_SIZE,
    GUIDANCE_STYLE,
    LANGUAGE,
    TABLE_STYLE,
    TABLE_STYLE_SIZE,
)
from exports.filename import document_filename
from exports.outline import (
    Field,
    FieldState,
    Instance,
    Node,
    PlanOutline,
    Section,
    build_outline,
    one_line,
)
from exports.pdf import to_pdf

DRAFT_RED = RGBColor(0xC0, 0x00, 0x00)
LOCAL_ZONE = "Europe/Stockholm"
_PAGE, _PAGES = "\x00PAGE\x00", "\x00NUMPAGES\x00"  # never in cleaned text
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayoutField:
    """One question as an organisation's layout sees it. Objects, not dicts: in Jinja
    `field.items` on a dict would be the dict's own `items` method."""

    label: str
    guidance: str
    text: str  # the answer as written, or "Ej besvarad" / "Fylls i vid uppföljningen"
    items: tuple[str, ...]
    period: str
    answered: bool


@dataclass(frozen=True)
class LayoutStep:
    title: str
    intro: str
    fields: tuple[LayoutField, ...]


class LayoutError(Exception):
    """An organisation's Word layout that cannot be filled; the message names file and reason."""


# --------------------------------------------------------------------------- public API


def render(
    template: Template,
    plan: PlanRecord,
    *,
    draft: bool,
    now: dt.datetime,
    variant: DocumentVariant | str | None = None,
    messages: Messages | None = None,
) -> bytes:
    """The plan as a .docx file's bytes: the working copy with the seed's guiding texts
    ("arbetsexemplar") or the copy to hand in without them ("inlamning"); the template's
    `document_variant` when not given."""
    chosen = DocumentVariant(variant) if variant is not None else template.document_variant
    data, _ = _render(
        template, plan, draft=draft, now=now, messages=messages or Messages.load(), variant=chosen
    )
    return data


render_docx = render  # the name the first callers know


class Renderer:
    """`dialogs.service.DocumentRenderer`: the document a channel sends to the teacher.

    With `layouts_dir` (the setting PLANBOT_LAYOUTS_DIR), a file `<template id>.docx` there is
    the organisation's own Word layout for that template (docxtpl, see docs/layout.md); a
    layout that cannot be filled is logged and the built-in document is sent instead, so the
    teacher still gets the plan. `pdf=True` converts the result with LibreOffice
    (`exports.pdf.to_pdf`), raising `PdfUnavailable` with what to install when it is missing.
    """

    def __init__(self, layouts_dir: Path | None = None, messages: Messages | None = None) -> None:
        self.layouts_dir = layouts_dir
        self.messages = messages  # None: the packaged texts (or PLANBOT_PROMPTS_DIR's)

    def layout_for(self, template: Template) -> Path | None:
        if self.layouts_dir is None:
            return None
        path = self.layouts_dir / f"{template.id}.docx"
        return path if path.is_file() else None

    def __call__(
        self,
        template: Template,
        plan: PlanRecord,
        *,
        draft: bool,
        now: dt.datetime,
        variant: DocumentVariant | str | None = None,
        pdf: bool = False,
    ) -> Document:
        messages = self.messages or Messages.load()
        chosen = DocumentVariant(variant) if variant is not None else template.document_variant
        layout = self.layout_for(template)
        data = b""
        if layout is not None:
            try:
                data = render_with_layout(
                    layout,
                    template,
                    plan,
                    draft=draft,
                    now=now,
                    messages=messages,
                    variant=chosen,
                )
            except LayoutError as exc:
                log.warning("the organisation's layout is not used: %s", exc)
        if not data:
            data, _ = _render(
                template, plan, draft=draft, now=now, messages=messages, variant=chosen
            )
        copy = (
            messages(f"export.copy.{chosen.value}") if chosen != template.document_variant else ""
        )
        filename = document_filename(
            template, plan, local_date(now), draft=draft, copy=copy, messages=messages
        )
        if pdf:
            data = to_pdf(data, messages=messages)
            filename = filename.removesuffix(".docx") + ".pdf"
        return Document(
            filename=filename,
            data=data,
            title=build_outline(template, plan, messages).document_title,
            draft=draft,
        )


render_document = Renderer()


def render_with_layout(
    layout_path: Path,
    template: Template,
    plan: PlanRecord,
    *,
    draft: bool,
    now: dt.datetime,
    messages: Messages | None = None,
    variant: DocumentVariant | str | None = None,
) -> bytes:
    """The plan poured into an organisation's own .docx with Jinja tags (docxtpl).

    The layout sees `layout_context(...)`: title, unit, author, date, draft, working_copy,
    identity, steps (each with title, intro and fields: label, guidance, text, items, period,
    answered) and labels. In the copy to hand in, `guidance` is empty. Values are escaped for
    Word's XML and are never templates themselves.
    """
    msgs = messages or Messages.load()
    chosen = DocumentVariant(variant) if variant is not None else template.document_variant
    outline = build_outline(template, plan, msgs)
    context = layout_context(
        outline,
        draft=draft,
        today=local_date(now),
        messages=msgs,
        working_copy=chosen is DocumentVariant.WORKING,
    )
    try:
        layout = DocxTemplate(str(layout_path))
        layout.render(context, jinja_env=SandboxedEnvironment(autoescape=True), autoescape=True)
    except (OSError, ValueError, KeyError, OpcError) as exc:
        reason = msgs("export.layout_unreadable", error=str(exc).rstrip("."))
        raise LayoutError(f"{layout_path}: {reason}") from exc
    except jinja2.TemplateError as exc:
        # docxtpl attaches the document text around the broken tag: the paragraph to fix.
        near = " / ".join(t.strip() for t in getattr(exc, "docx_context", ()) if t.strip())
        reason = msgs("export.layout_broken_tag", error=str(exc).rstrip("."), near=near)
        raise LayoutError(f"{layout_path}: {reason}") from exc
    _set_properties(layout.docx.core_properties, template, outline, draft, now, msgs)
    out = io.BytesIO()
    layout.save(out)
    return out.getvalue()


def layout_context(
    outline: PlanOutline,
    *,
    draft: bool,
    today: dt.date,
    messages: Messages,
    working_copy: bool = True,
) -> dict[str, Any]:
    """What an organisation's layout can use. Fields inside groups are flattened in order,
    labelled with where they sit ("Insats 2 › Problem"); an optional question nobody
    answered is left out, as in the built-in document."""

    def fields(nodes: Sequence[Field], *, nested: bool) -> tuple[LayoutField, ...]:
        return tuple(
            _field_context(f, messages, nested=nested, guidance=working_copy)
            for f in nodes
            if _shown(f)
        )

    return {
        "title": outline.document_title,
        "plan_title": outline.plan_title,
        "unit": outline.unit,
        "author": outline.author,
        "date": today.isoformat(),
        "draft": draft,
        "working_copy": working_copy,
        "identity": list(fields(outline.identity, nested=False)),
        "steps": [
            LayoutStep(
                title=section.title,
                intro=one_line(section.step.intro or ""),
                fields=fields(_flatten(section.nodes), nested=True),
            )
            for section in outline.sections
        ],
        "labels": {
            "draft": messages("export.draft"),
            "created": messages("export.created"),
            "unanswered": messages("export.unanswered"),
            "awaits_followup": messages("export.awaits_followup"),
        },
    }


def local_date(now: dt.datetime) -> dt.date:
    """The teacher's calendar day: a timestamp in UTC is read in Swedish time."""
    if now.tzinfo is None:
        return now.date()
    try:
        return now.astimezone(ZoneInfo(LOCAL_ZONE)).date()
    except ZoneInfoNotFoundError:
        return now.date()


# --------------------------------------------------------------------------- the document

SUBSECTION_SIZE = Pt(13)  # as a question's heading (Heading 2)
PORTRAIT_WIDTH_CM = 16.0  # A4 less 2.5 cm margins
LANDSCAPE_WIDTH_CM = 24.7
# A table row longer than this many lines may split across pages (it could not fit anyway).
MAX_UNSPLIT_LINES = 30
_CHARS_PER_CM = 5.6  # Calibri 10 pt, average Swedish text


@dataclass
class _Writer:
    """One document being written: where to write, in which words, and whether the seed's
    guiding texts are printed (the working copy) or not (the copy to hand in)."""

    document: WordDocument
    template: Template
    messages: Messages
    guidance: bool

    def heading(self, text: str, level: int) -> Paragraph:
        heading: Paragraph = self.document.add_heading(text, level=_heading_level(level))
        return heading

    def guide(self, text: str) -> None:
        if self.guidance and text:
            _guidance_run(self.document.add_paragraph(style=GUIDANCE_STYLE), text)

    def question(self, field: Field) -> Question | None:
        try:
            return self.template.question(schema_path(field.path))
        except KeyError:
            return None

    @property
    def width_cm(self) -> float:
        section = self.document.sections[-1]
        landscape = section.orientation == WD_ORIENT.LANDSCAPE
        return LANDSCAPE_WIDTH_CM if landscape else PORTRAIT_WIDTH_CM


def _render(
    template: Template,
    plan: PlanRecord,
    *,
    draft: bool,
    now: dt.datetime,
    messages: Messages,
    variant: DocumentVariant,
) -> tuple[bytes, PlanOutline]:
    outline = build_outline(template, plan, messages)
    document = docx.Document(str(BASE_DOCX))
    writer = _Writer(document, template, messages, guidance=variant is DocumentVariant.WORKING)
    _set_properties(document.core_properties, template, outline, draft, now, messages)
    if draft:
        _draft_header(document, messages)
    _footer(document, outline.document_title, messages)
    if draft:
        _draft_mark(document.add_paragraph(), messages("export.draft_notice"))
    document.add_heading(outline.document_title, level=0)
    render_identity(writer, outline, local_date(now))
    render_summary(writer, outline)
    render_preamble(writer, template)
    for section in outline.sections:
        if any(_shown(node) for node in section.nodes):
            render_section(writer, section)
    _orient(document, landscape=False, only_if_needed=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), outline


def render_identity(writer: _Writer, outline: PlanOutline, today: dt.date) -> None:
    """The plan's name, unit and author, and the day the document was made: label | value.
    An optional line nobody filled in (a skipped "Datum") is left out."""
    rows: list[tuple[str, Field | str]] = [(f.label, f) for f in outline.identity if _shown(f)]
    rows.append((writer.messages("export.created"), today.isoformat()))
    table = _table(writer.document, (5.0, 11.0), grid=False)
    for label, value in rows:
        label_cell, value_cell = _row(table).cells
        label_cell.paragraphs[0].add_run(label).bold = True
        if isinstance(value, str):
            value_cell.paragraphs[0].add_run(value)
        elif value.answered:
            _cell_lines(value_cell, value.paragraphs or value.items or (value.text,))
        else:
            _missing(value_cell.paragraphs[0], value, writer.messages)
    writer.document.add_paragraph()


def render_preamble(writer: _Writer, template: Template) -> None:
    """The seed's opening text ("Syftet med slutredovisningen …")."""
    for passage in template.preamble:
        if passage.title:
            writer.heading(one_line(passage.title), 1)
        if passage.text:
            writer.document.add_paragraph(one_line(passage.text))


def render_section(writer: _Writer, section: Section) -> None:
    """A step as Heading 1 with the seed's introduction; a step holding one question of the
    same name ("Erfarenhetsspridning") is not given the same heading twice. A step with a
    matrix is set in landscape, so four columns of Swedish compounds fit unbroken."""
    landscape = any(_has_matrix(node) for node in section.nodes if _shown(node))
    _orient(writer.document, landscape=landscape)
    writer.heading(section.title, 1)
    if section.step.intro:
        intro = writer.document.add_paragraph(one_line(section.step.intro))
        intro.paragraph_format.keep_with_next = True
    shown = [node for node in section.nodes if _shown(node)]
    if len(shown) == 1 and isinstance(shown[0], Field) and shown[0].label == section.title:
        writer.guide(shown[0].guidance)
        render_answer(writer, shown[0])
        return
    render_nodes(writer, section.nodes, level=2)


def render_nodes(writer: _Writer, nodes: Sequence[Node], *, level: int) -> None:
    titled: set[str] = set()
    for node in nodes:
        if not _shown(node):
            continue
        if isinstance(node, Instance):
            group = node.frame.group
            if group.title and node.frame.group_path not in titled:
                titled.add(node.frame.group_path)
                writer.heading(one_line(group.title), level)
                writer.guide(one_line(group.guidance or ""))
            deeper = level + 1 if group.title else level
            render_instance(writer, node, level=deeper)
        else:
            render_field(writer, node, level=level)


def render_instance(writer: _Writer, instance: Instance, *, level: int) -> None:
    """ "Insats 2" and what it holds, one heading level deeper; in the group's layout."""
    writer.heading(instance.heading, level)
    group = instance.frame.group
    children = [c for c in instance.children if not _names_instance(c, group)]
    if group.layout is Layout.MATRIX:
        render_matrix(writer, children, group, level=level + 1)
    elif group.layout is Layout.ROWS:
        render_rows(writer, children)
    else:
        render_nodes(writer, children, level=level + 1)


def render_matrix(writer: _Writer, children: Sequence[Node], group: Group, *, level: int) -> None:
    """The group's `columns` as one table where the first of them stands: headings, the
    seed's guidance in grey, then the answers (lists as bullets); the rest as usual."""
    columns = {c: i for i, c in enumerate(group.columns)}
    cells: list[Field | None] = [None] * len(group.columns)
    for child in children:
        if isinstance(child, Field) and child.question_id in columns:
            cells[columns[child.question_id]] = child
    placed = False
    for child in children:
        if isinstance(child, Field) and child.question_id in columns:
            if not placed:
                _matrix_table(writer, cells)
                placed = True
            continue
        render_nodes(writer, [child], level=level)


def _matrix_table(writer: _Writer, cells: Sequence[Field | None]) -> None:
    """Column headings (and, in the working copy, the seed's guidance under them) repeat on
    every page the table runs over; the answer row stays on one page when it can."""
    present = [c for c in cells if c is not None]
    width = writer.width_cm / len(present)
    table = _table(writer.document, [width] * len(present))
    heads = _row(table, header=True).cells
    for cell, field in zip(heads, present, strict=True):
        cell.paragraphs[0].add_run(field.label).bold = True
    if writer.guidance and any(f.guidance for f in present):
        for cell, field in zip(_row(table, header=True).cells, present, strict=True):
            if field.guidance:
                cell.paragraphs[0].style = GUIDANCE_STYLE
                _guidance_run(cell.paragraphs[0], field.guidance)
    row = _row(table)
    for cell, field in zip(row.cells, present, strict=True):
        _cell_answer(cell, field, writer.messages)
    _allow_split_if_long(row, [width] * len(present))
    writer.document.add_paragraph()


def render_rows(writer: _Writer, children: Sequence[Node]) -> None:
    """One two-column table: the question | the answer (seed 004's form). An `each` group
    (one instance per goal) gets a row of headings, then a row per item: the item in the
    left cell shaded in the colour its answer chose, the answers on the right without the
    questions repeated. Its `gathered` questions follow once, after all items."""
    widths = (6.0, writer.width_cm - 6.0)
    table = _table(writer.document, widths)
    runs: list[list[Node]] = []
    for child in children:
        if not _shown(child):
            continue
        same_group = (
            runs
            and isinstance(child, Instance)
            and isinstance(runs[-1][0], Instance)
            and runs[-1][0].frame.group_path == child.frame.group_path
        )
        if same_group:
            runs[-1].append(child)
        else:
            runs.append([child])
    for run in runs:
        first = run[0]
        if isinstance(first, Field):
            _field_row(writer, table, first, widths)
        else:
            _item_rows(writer, table, [n for n in run if isinstance(n, Instance)], widths)
    writer.document.add_paragraph()


def _field_row(writer: _Writer, table: Table, field: Field, widths: Sequence[float]) -> None:
    row = _row(table)
    label_cell, value_cell = row.cells
    label_cell.paragraphs[0].add_run(field.label).bold = True
    if writer.guidance and field.guidance and field.guidance != field.label:
        _guidance_run(label_cell.add_paragraph(style=GUIDANCE_STYLE), field.guidance)
    _cell_answer(value_cell, field, writer.messages)
    _allow_split_if_long(row, widths)


def _item_rows(
    writer: _Writer, table: Table, instances: Sequence[Instance], widths: Sequence[float]
) -> None:
    group = instances[0].frame.group
    coloured = {q.id for q in group.items if isinstance(q, Question) and (q.colors or q.tally)}
    answers = [q for q in group.items if isinstance(q, Question) and q.id not in coloured]
    answers = [q for q in answers if q.id not in group.gathered]
    if group.title:
        label_cell, value_cell = _row(table).cells
        label_cell.paragraphs[0].add_run(one_line(group.title)).bold = True
        for n, question in enumerate(answers):
            paragraph = value_cell.paragraphs[0] if n == 0 else value_cell.add_paragraph()
            paragraph.add_run(one_line(question.label)).bold = True
    for instance in instances:
        row = _row(table)
        label_cell, value_cell = row.cells
        label_cell.paragraphs[0].add_run(one_line(instance.frame.item) or instance.heading)
        fields = [f for f in _flatten(instance.children) if f.question_id not in group.gathered]
        fill = next((f.fill for f in fields if f.fill), "")
        if fill:
            _shade(label_cell, fill)
        for field in fields:
            if not _shown(field):
                continue
            before = len(value_cell.paragraphs)
            _cell_answer(value_cell, field, writer.messages)
            if field.question_id in coloured:
                for paragraph in value_cell.paragraphs[max(before - 1, 0) :]:
                    for text_run in paragraph.runs:
                        text_run.bold = True
        _allow_split_if_long(row, widths)
    for question_id in group.gathered:
        _gathered_row(writer, table, instances, question_id, widths)


def _gathered_row(
    writer: _Writer,
    table: Table,
    instances: Sequence[Instance],
    question_id: str,
    widths: Sequence[float],
) -> None:
    """ "Mål som inte uppnåtts och vad det beror på": the items it was answered for, then
    what was said – once when the same explanation was given for all of them, else each
    item followed by its own."""
    said: list[tuple[str, Field]] = []
    for instance in instances:
        for field in _flatten(instance.children):
            if field.question_id == question_id and field.answered:
                said.append((one_line(instance.frame.item) or instance.heading, field))
    if not said:
        return
    row = _row(table)
    label_cell, value_cell = row.cells
    label_cell.paragraphs[0].add_run(said[0][1].label).bold = True
    texts = {field.text for _, field in said}
    fresh = True
    for item, field in said:
        paragraph = value_cell.paragraphs[0] if fresh else value_cell.add_paragraph()
        fresh = False
        paragraph.add_run(item).font.size = TABLE_STYLE_SIZE
        paragraph.style = "List Bullet"
        if len(texts) > 1:
            for line in field.paragraphs:
                value_cell.add_paragraph(line, style=TABLE_STYLE)
    if len(texts) == 1:
        for line in said[0][1].paragraphs:
            value_cell.add_paragraph(line, style=TABLE_STYLE)
    _allow_split_if_long(row, widths)


def render_summary(writer: _Writer, outline: PlanOutline) -> None:
    """Every instance of a `summary` group (each goal) with its colour, at the top: the
    insats it belongs to once, with its count per colour ("1 grön · 3 gula · 1 röd"); the
    utvecklingsområde as a row of its own when there are several."""
    groups: dict[tuple[str, ...], list[Instance]] = {}
    headings: dict[tuple[str, ...], tuple[str, ...]] = {}

    def collect(nodes: Sequence[Node], where: tuple[str, ...], names: tuple[str, ...]) -> None:
        for node in nodes:
            if isinstance(node, Instance):
                if node.frame.group.summary:
                    groups.setdefault(where, []).append(node)
                    headings[where] = names
                else:
                    collect(node.children, (*where, node.frame.path), (*names, node.heading))

    for section in outline.sections:
        collect(section.nodes, (), ())
    if not groups:
        return
    messages = writer.messages
    writer.heading(messages("export.summary_heading"), 1)
    widths = (5.5, 7.3, writer.width_cm - 12.8)
    table = _table(writer.document, widths)
    heads = ("export.summary_where", "export.summary_goal", "export.summary_level")
    for cell, key in zip(_row(table, header=True).cells, heads, strict=True):
        cell.paragraphs[0].add_run(messages(key)).bold = True
    areas = {names[:-1] for names in headings.values()}
    shown_area: tuple[str, ...] | None = None
    for where, instances in groups.items():
        names = headings[where]
        if len(areas) > 1 and names[:-1] != shown_area:
            shown_area = names[:-1]
            area = _row(table)
            merged = area.cells[0].merge(area.cells[-1])
            merged.paragraphs[0].add_run(" › ".join(names[:-1])).bold = True
        first = len(table.rows)
        for instance in instances:
            _, goal_cell, level_cell = _row(table).cells
            goal_cell.paragraphs[0].add_run(one_line(instance.frame.item) or instance.heading)
            chosen = next((f for f in _flatten(instance.children) if f.fill), None)
            if chosen is None:
                _missing_run(level_cell.paragraphs[0], messages("export.unanswered"))
                continue
            level_cell.paragraphs[0].add_run(chosen.text)
            _shade(goal_cell, chosen.fill)
            _shade(level_cell, chosen.fill)
        insats = table.cell(first, 0)
        if len(instances) > 1:
            insats = insats.merge(table.cell(len(table.rows) - 1, 0))
        insats.paragraphs[0].add_run(names[-1] if names else "").bold = True
        tally = _tally(writer, instances)
        if tally:
            insats.add_paragraph(tally)
    writer.document.add_paragraph()


def _tally(writer: _Writer, instances: Sequence[Instance]) -> str:
    """ "1 grön · 3 gula · 1 röd": the answers of a question with `tally` words, counted."""
    counts: dict[str, int] = {}
    question: Question | None = None
    for instance in instances:
        for field in _flatten(instance.children):
            asked = writer.question(field)
            if asked is not None and asked.tally and field.answered:
                question = asked
                counts[field.text] = counts.get(field.text, 0) + 1
    if question is None:
        return ""
    said = [
        (counts[choice], words[0] if counts[choice] == 1 else words[1])
        for choice, words in question.tally.items()
        if counts.get(choice)
    ]
    return writer.messages("export.tally", counts=said)


def render_field(writer: _Writer, field: Field, *, level: int) -> None:
    """A question's label as heading, the seed's guidance in grey, then the answer. A
    sub-heading the seed puts before the question ("Resultat och stöd inför ett nytt steg 1")
    comes first."""
    question = writer.question(field)
    if question is not None and question.subsection is not None:
        if question.subsection.title:
            # One level below the questions' headings, so it is not read as a question of
            # its own, but set as large as theirs: it names the part that follows.
            heading = writer.heading(one_line(question.subsection.title), level + 1)
            for run in heading.runs:
                run.font.size = SUBSECTION_SIZE
        writer.guide(one_line(question.subsection.text or ""))
    writer.heading(field.label, level)
    writer.guide(field.guidance)
    render_answer(writer, field)


def render_answer(writer: _Writer, field: Field) -> None:
    document, messages = writer.document, writer.messages
    if not field.answered:
        _missing(document.add_paragraph(), field, messages)
    elif field.items:
        for item in field.items:
            document.add_paragraph(item, style="List Bullet")
    elif field.period:
        written = " ".join(field.paragraphs)
        if not written or written.casefold() == field.period.casefold():
            document.add_paragraph(field.period)  # "20 maj 2027 (20 maj 2027)" says nothing
        else:
            document.add_paragraph(messages("export.period", text=written, period=field.period))
    else:
        for paragraph in field.paragraphs:
            document.add_paragraph(paragraph)


def _shown(node: Node) -> bool:
    """An optional question nobody answered is left out; so is an instance with nothing."""
    if isinstance(node, Instance):
        return any(_shown(child) for child in node.children)
    return node.answered or node.required


def _has_matrix(node: Node) -> bool:
    if isinstance(node, Field):
        return False
    return node.frame.group.layout is Layout.MATRIX or any(_has_matrix(c) for c in node.children)


def _names_instance(node: Node, group: Group) -> bool:
    """The answer already in the instance's heading ("Insats 2: <namn>")."""
    return isinstance(node, Field) and node.question_id == group.name_field and node.answered


def _orient(document: WordDocument, *, landscape: bool, only_if_needed: bool = False) -> None:
    """Start a new page section in the orientation asked for, unless the last one has it."""
    section = document.sections[-1]
    wanted = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    if section.orientation == wanted:
        return
    if only_if_needed:
        return  # the document may end in landscape: nothing follows that needs portrait
    section = document.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = wanted
    short, long = Mm(210), Mm(297)
    section.page_width, section.page_height = (long, short) if landscape else (short, long)


def _table(document: WordDocument, widths_cm: Sequence[float], *, grid: bool = True) -> Table:
    """A table whose column widths are fixed in the table grid itself (Word and LibreOffice
    both read those), not only per cell."""
    table: Table = document.add_table(rows=0, cols=len(widths_cm))
    if grid:
        table.style = "Table Grid"
    table.autofit = False  # w:tblLayout fixed
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    tbl_w = table._tbl.tblPr.find(qn("w:tblW"))
    if tbl_w is not None:
        tbl_w.set(qn("w:type"), "dxa")
        tbl_w.set(qn("w:w"), str(int(Cm(sum(widths_cm)).twips)))
    return table


def _row(table: Table, *, header: bool = False) -> _Row:
    """A row that does not split across pages; a header row repeats on every page."""
    row: _Row = table.add_row()  # type: ignore[no-untyped-call]
    for cell, column in zip(row.cells, table.columns, strict=True):
        cell.width = column.width
        cell.paragraphs[0].style = TABLE_STYLE
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))
    if header:
        properties.append(OxmlElement("w:tblHeader"))
    return row


def _allow_split_if_long(row: _Row, widths_cm: Sequence[float]) -> None:
    """A row taller than a page must split, or Word and LibreOffice cut it off."""
    lines = 0
    for cell, width in zip(row.cells, widths_cm, strict=False):
        per_line = max(int(width * _CHARS_PER_CM), 1)
        lines = max(lines, sum(1 + len(p.text) // per_line for p in cell.paragraphs))
    if lines > MAX_UNSPLIT_LINES:
        properties = row._tr.get_or_add_trPr()
        for element in properties.findall(qn("w:cantSplit")):
            properties.remove(element)


def _cell_answer(cell: _Cell, field: Field, messages: Messages) -> None:
    """An answer inside a table cell: list items as bullets, else its paragraphs."""
    fresh = not cell.paragraphs[-1].text
    if not field.answered:
        _missing(cell.paragraphs[-1] if fresh else cell.add_paragraph(), field, messages)
        return
    if field.items:
        lines: Sequence[str] = field.items
        style = "List Bullet"
    else:
        written = " ".join(field.paragraphs)
        if field.period and written.casefold() != field.period.casefold():
            lines = (messages("export.period", text=written, period=field.period),)
        else:
            lines = (field.period,) if field.period else field.paragraphs or (field.text,)
        style = TABLE_STYLE
    for line in lines:
        paragraph = cell.paragraphs[-1] if fresh else cell.add_paragraph()
        fresh = False
        run = paragraph.add_run(line)
        paragraph.style = style
        if style != TABLE_STYLE:
            run.font.size = TABLE_STYLE_SIZE  # a bullet in a cell as small as the cell's text


def _shade(cell: _Cell, fill: str) -> None:
    """The cell's background colour (Word's w:shd), read back as the goal's colour."""
    properties = cell._tc.get_or_add_tcPr()
    for old in properties.findall(qn("w:shd")):
        properties.remove(old)
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill.upper())
    properties.append(shading)


def _guidance_run(paragraph: Paragraph, text: str) -> None:
    """The guidance paragraph's style says small grey italics; the run says it too, for
    readers (and older tools) that look only at the text's own formatting."""
    run = paragraph.add_run(text)
    run.italic = True
    run.font.size = GUIDANCE_SIZE
    run.font.color.rgb = GREY


def _missing_text(field: Field, messages: Messages) -> str:
    if field.state is FieldState.AWAITS_FOLLOWUP:
        return messages("export.awaits_followup")
    return messages("export.unanswered")


def _missing(paragraph: Paragraph, field: Field, messages: Messages) -> None:
    _missing_run(paragraph, _missing_text(field, messages))


def _missing_run(paragraph: Paragraph, text: str) -> None:
    run = paragraph.add_run(text)
    run.italic = True
    run.font.color.rgb = GREY


def _cell_lines(cell: _Cell, lines: Sequence[str]) -> None:
    cell.paragraphs[0].add_run(lines[0])
    for line in lines[1:]:
        cell.add_paragraph(line, style=TABLE_STYLE)


def _heading_level(level: int) -> int:
    return max(1, min(level, 9))  # Word has Heading 1–9


def _draft_mark(paragraph: Paragraph, text: str) -> None:
    run = paragraph.add_run(text)
    run.bold = True
    run.font.color.rgb = DRAFT_RED


def _draft_header(document: WordDocument, messages: Messages) -> None:
    header = document.sections[0].header
    header.is_linked_to_previous = False
    _draft_mark(header.paragraphs[0], messages("export.draft"))


def _footer(document: WordDocument, title: str, messages: Messages) -> None:
    """ "Handlingsplan – … · Sida 2 av 5", the numbers as Word fields."""
    paragraph = document.sections[0].footer.paragraphs[0]
    text = messages("export.footer", title=title, page=_PAGE, pages=_PAGES)
    for piece in re.split(f"({_PAGE}|{_PAGES})", text):
        if piece in (_PAGE, _PAGES):
            _page_field(paragraph, piece.strip("\x00"))
        elif piece:
            paragraph.add_run(piece)


def _page_field(paragraph: Paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _set_properties(
    props: CoreProperties,
    template: Template,
    outline: PlanOutline,
    draft: bool,
    now: dt.datetime,
    messages: Messages,
) -> None:
    """Title, subject and language; the author is who the plan says wrote it ("Upprättad
    av"), else the huvudman or unit it is for – never the program."""
    title = outline.document_title
    props.title = messages("export.draft_title", title=title) if draft else title
    props.author = outline.author or outline.unit
    props.last_modified_by = props.author
    props.subject = one_line(template.name)
    props.language = LANGUAGE
    props.keywords = ""
    props.comments = ""
    props.revision = 1
    # python-docx writes the wall-clock digits with a "Z": hand it UTC.
    stamp = now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now
    props.created = props.modified = stamp


# --------------------------------------------------------------------------- helpers


def _flatten(nodes: Sequence[Node]) -> list[Field]:
    out: list[Field] = []
    for node in nodes:
        if isinstance(node, Instance):
            out.extend(_flatten(node.children))
        else:
            out.append(node)
    return out


def _field_context(
    field: Field, messages: Messages, *, nested: bool, guidance: bool = True
) -> LayoutField:
    return LayoutField(
        label=field.breadcrumb if nested else field.label,
        guidance=field.guidance if guidance else "",
        text=field.text if field.answered else _missing_text(field, messages),
        items=field.items,
        period=field.period,
        answered=field.answered,
    )
