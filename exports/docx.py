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
chose. Groups marked `summary` are also gathered into a table at the top. An optional
question left unanswered is left out, and so is a section with nothing left in it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import docx
import jinja2
from docx.document import Document as WordDocument
from docx.opc.coreprops import CoreProperties
from docx.opc.exceptions import OpcError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate  # type: ignore[import-untyped]
from jinja2.sandbox import SandboxedEnvironment

from dialogs.messages import Messages
from dialogs.template import Group, Layout, Template
from dialogs.types import Document, PlanRecord
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

FONT = "Calibri"
FONT_SIZE = Pt(11)
GUIDANCE_SIZE = Pt(9)
GREY = RGBColor(0x6E, 0x6E, 0x6E)
DRAFT_RED = RGBColor(0xC0, 0x00, 0x00)
LANGUAGE = "sv-SE"
LOCAL_ZONE = "Europe/Stockholm"
_PAGE, _PAGES = "\x00PAGE\x00", "\x00NUMPAGES\x00"  # never in cleaned text


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
    fields: tuple[LayoutField, ...]


class LayoutError(Exception):
    """An organisation's Word layout that cannot be filled; the message names file and reason."""


# --------------------------------------------------------------------------- public API


def render_docx(
    template: Template,
    plan: PlanRecord,
    *,
    draft: bool,
    now: dt.datetime,
    messages: Messages | None = None,
) -> bytes:
    """The plan as a .docx file's bytes."""
    data, _ = _render(template, plan, draft=draft, now=now, messages=messages or Messages.load())
    return data


def render_document(
    template: Template,
    plan: PlanRecord,
    *,
    draft: bool,
    now: dt.datetime,
    messages: Messages | None = None,
) -> Document:
    """`dialogs.service.DocumentRenderer`: the document a channel sends to the teacher."""
    data, outline = _render(
        template, plan, draft=draft, now=now, messages=messages or Messages.load()
    )
    return Document(
        filename=document_filename(template, plan, local_date(now), draft=draft),
        data=data,
        title=outline.document_title,
        draft=draft,
    )


def render_with_layout(
    layout_path: Path,
    template: Template,
    plan: PlanRecord,
    *,
    draft: bool,
    now: dt.datetime,
    messages: Messages | None = None,
) -> bytes:
    """The plan poured into an organisation's own .docx with Jinja tags (docxtpl).

    The layout sees `layout_context(...)`: title, unit, author, date, draft, identity, steps
    (each with title and fields: label, guidance, text, items, period, answered) and labels.
    Values are escaped for Word's XML and are never templates themselves.
    """
    msgs = messages or Messages.load()
    outline = build_outline(template, plan, msgs)
    context = layout_context(outline, draft=draft, today=local_date(now), messages=msgs)
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
    outline: PlanOutline, *, draft: bool, today: dt.date, messages: Messages
) -> dict[str, Any]:
    """What an organisation's layout can use. Fields inside groups are flattened in order,
    labelled with where they sit ("Insats 2 › Problem")."""
    return {
        "title": outline.document_title,
        "plan_title": outline.plan_title,
        "unit": outline.unit,
        "author": outline.author,
        "date": today.isoformat(),
        "draft": draft,
        "identity": [_field_context(f, messages, nested=False) for f in outline.identity],
        "steps": [
            LayoutStep(
                title=section.title,
                fields=tuple(
                    _field_context(f, messages, nested=True) for f in _flatten(section.nodes)
                ),
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


def _render(
    template: Template, plan: PlanRecord, *, draft: bool, now: dt.datetime, messages: Messages
) -> tuple[bytes, PlanOutline]:
    outline = build_outline(template, plan, messages)
    document = docx.Document()
    _setup_page_and_styles(document)
    _set_properties(document.core_properties, template, outline, draft, now, messages)
    if draft:
        _draft_header(document, messages)
    _footer(document, outline.document_title, messages)
    if draft:
        _draft_mark(document.add_paragraph(), messages("export.draft_notice"))
    document.add_heading(outline.document_title, level=0)
    render_identity(document, outline, local_date(now), messages)
    render_summary(document, outline, messages)
    for section in outline.sections:
        if any(_shown(node) for node in section.nodes):
            render_section(document, section, messages)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), outline


def render_identity(
    document: WordDocument, outline: PlanOutline, today: dt.date, messages: Messages
) -> None:
    """The plan's name, unit and author, and the day the document was made: label | value."""
    rows: list[tuple[str, Field | str]] = [(f.label, f) for f in outline.identity]
    rows.append((messages("export.created"), today.isoformat()))
    table = document.add_table(rows=0, cols=2)
    for label, value in rows:
        label_cell, value_cell = table.add_row().cells
        label_cell.width, value_cell.width = Cm(5), Cm(11)
        label_cell.paragraphs[0].add_run(label).bold = True
        if isinstance(value, str):
            value_cell.paragraphs[0].add_run(value)
        elif value.answered:
            _cell_lines(value_cell, value.paragraphs or value.items or (value.text,))
        else:
            _missing(value_cell.paragraphs[0], value, messages)
    document.add_paragraph()


def render_section(document: WordDocument, section: Section, messages: Messages) -> None:
    document.add_heading(section.title, level=1)
    render_nodes(document, section.nodes, level=2, messages=messages)


def render_nodes(
    document: WordDocument, nodes: Sequence[Node], *, level: int, messages: Messages
) -> None:
    titled: set[str] = set()
    for node in nodes:
        if not _shown(node):
            continue
        if isinstance(node, Instance):
            group = node.frame.group
            if group.title and node.frame.group_path not in titled:
                titled.add(node.frame.group_path)
                document.add_heading(one_line(group.title), level=_heading_level(level))
                _guidance(document.add_paragraph(), one_line(group.guidance or ""))
            deeper = level + 1 if group.title else level
            render_instance(document, node, level=deeper, messages=messages)
        else:
            render_field(document, node, level=level, messages=messages)


def render_instance(
    document: WordDocument, instance: Instance, *, level: int, messages: Messages
) -> None:
    """ "Insats 2" and what it holds, one heading level deeper; in the group's layout."""
    document.add_heading(instance.heading, level=_heading_level(level))
    group = instance.frame.group
    children = [c for c in instance.children if not _names_instance(c, group)]
    if group.layout is Layout.MATRIX:
        render_matrix(document, children, group, level=level + 1, messages=messages)
    elif group.layout is Layout.ROWS:
        render_rows(document, children, messages)
    else:
        render_nodes(document, children, level=level + 1, messages=messages)


def render_matrix(
    document: WordDocument,
    children: Sequence[Node],
    group: Group,
    *,
    level: int,
    messages: Messages,
) -> None:
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
                _matrix_table(document, cells, messages)
                placed = True
            continue
        render_nodes(document, [child], level=level, messages=messages)


def _matrix_table(
    document: WordDocument, cells: Sequence[Field | None], messages: Messages
) -> None:
    present = [c for c in cells if c is not None]
    table = document.add_table(rows=0, cols=len(present))
    table.style = "Table Grid"
    heads = table.add_row().cells
    for cell, field in zip(heads, present, strict=True):
        cell.paragraphs[0].add_run(field.label).bold = True
    if any(f.guidance for f in present):
        for cell, field in zip(table.add_row().cells, present, strict=True):
            _guidance(cell.paragraphs[0], field.guidance)
    for cell, field in zip(table.add_row().cells, present, strict=True):
        _cell_answer(cell, field, messages)
    document.add_paragraph()


def render_rows(document: WordDocument, children: Sequence[Node], messages: Messages) -> None:
    """One two-column table: the question | the answer. An `each` instance is a row of its
    own: the item in the left cell, shaded in the colour its answer chose."""
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    titled: set[str] = set()
    for child in children:
        if not _shown(child):
            continue
        label_cell, value_cell = table.add_row().cells
        label_cell.width, value_cell.width = Cm(6), Cm(10)
        if isinstance(child, Field):
            label_cell.paragraphs[0].add_run(child.label).bold = True
            if child.guidance and child.guidance != child.label:
                _guidance(label_cell.add_paragraph(), child.guidance)
            _cell_answer(value_cell, child, messages)
            continue
        group = child.frame.group
        if group.title and child.frame.group_path not in titled:
            titled.add(child.frame.group_path)
            label_cell.paragraphs[0].add_run(one_line(group.title)).bold = True
            _guidance(value_cell.paragraphs[0], one_line(group.guidance or ""))
            label_cell, value_cell = table.add_row().cells
        label_cell.paragraphs[0].add_run(one_line(child.frame.item) or child.heading)
        fill = next((f.fill for f in _flatten(child.children) if f.fill), "")
        if fill:
            _shade(label_cell, fill)
        first = True
        for field in _flatten(child.children):
            if not _shown(field):
                continue
            paragraph = value_cell.paragraphs[0] if first else value_cell.add_paragraph()
            first = False
            paragraph.add_run(field.label).bold = True
            _cell_answer(value_cell, field, messages)
    document.add_paragraph()


def render_summary(document: WordDocument, outline: PlanOutline, messages: Messages) -> None:
    """Every instance of a `summary` group (each goal) with its colour, at the top."""
    rows: list[tuple[str, Instance]] = []

    def collect(nodes: Sequence[Node], where: tuple[str, ...]) -> None:
        for node in nodes:
            if isinstance(node, Instance):
                if node.frame.group.summary:
                    rows.append((" › ".join(where), node))
                else:
                    collect(node.children, (*where, node.heading))

    for section in outline.sections:
        collect(section.nodes, ())
    if not rows:
        return
    document.add_heading(messages("export.summary_heading"), level=1)
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    heads = ("export.summary_where", "export.summary_goal", "export.summary_level")
    for cell, key in zip(table.rows[0].cells, heads, strict=True):
        cell.paragraphs[0].add_run(messages(key)).bold = True
    for where, instance in rows:
        where_cell, goal_cell, level_cell = table.add_row().cells
        where_cell.paragraphs[0].add_run(where)
        goal_cell.paragraphs[0].add_run(one_line(instance.frame.item) or instance.heading)
        chosen = next((f for f in _flatten(instance.children) if f.fill), None)
        if chosen is None:
            level_cell.paragraphs[0].add_run(messages("export.unanswered")).italic = True
            continue
        level_cell.paragraphs[0].add_run(chosen.text)
        _shade(goal_cell, chosen.fill)
        _shade(level_cell, chosen.fill)
    document.add_paragraph()


def render_field(document: WordDocument, field: Field, *, level: int, messages: Messages) -> None:
    """A question's label as heading, the seed's guidance in grey, then the answer."""
    document.add_heading(field.label, level=_heading_level(level))
    if field.guidance:
        run = document.add_paragraph().add_run(field.guidance)
        run.italic = True
        run.font.size = GUIDANCE_SIZE
        run.font.color.rgb = GREY
    render_answer(document, field, messages)


def render_answer(document: WordDocument, field: Field, messages: Messages) -> None:
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


def _names_instance(node: Node, group: Group) -> bool:
    """The answer already in the instance's heading ("Insats 2: <namn>")."""
    return isinstance(node, Field) and node.question_id == group.name_field and node.answered


def _guidance(paragraph: Paragraph, text: str) -> None:
    if not text:
        return
    run = paragraph.add_run(text)
    run.italic = True
    run.font.size = GUIDANCE_SIZE
    run.font.color.rgb = GREY


def _cell_answer(cell: _Cell, field: Field, messages: Messages) -> None:
    """An answer inside a table cell: list items as bullets, else its paragraphs."""
    fresh = not cell.paragraphs[-1].text
    if not field.answered:
        _missing(cell.paragraphs[-1] if fresh else cell.add_paragraph(), field, messages)
        return
    if field.items:
        lines: Sequence[str] = field.items
        style: str | None = "List Bullet"
    else:
        written = " ".join(field.paragraphs)
        if field.period and written.casefold() != field.period.casefold():
            lines = (messages("export.period", text=written, period=field.period),)
        else:
            lines = (field.period,) if field.period else field.paragraphs or (field.text,)
        style = None
    for line in lines:
        paragraph = cell.paragraphs[-1] if fresh else cell.add_paragraph()
        fresh = False
        paragraph.add_run(line)
        if style is not None:
            paragraph.style = style


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


def _missing_text(field: Field, messages: Messages) -> str:
    if field.state is FieldState.AWAITS_FOLLOWUP:
        return messages("export.awaits_followup")
    return messages("export.unanswered")


def _missing(paragraph: Paragraph, field: Field, messages: Messages) -> None:
    run = paragraph.add_run(_missing_text(field, messages))
    run.italic = True
    run.font.color.rgb = GREY


def _cell_lines(cell: _Cell, lines: Sequence[str]) -> None:
    cell.paragraphs[0].add_run(lines[0])
    for line in lines[1:]:
        cell.add_paragraph(line)


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


def _setup_page_and_styles(document: WordDocument) -> None:
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin = section.bottom_margin = Cm(2.5)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = FONT_SIZE
    footer = document.styles["Footer"]  # the page-number fields take the style too
    footer.font.size = GUIDANCE_SIZE
    footer.font.color.rgb = GREY
    # The proofing language lives in the document defaults every style inherits from.
    defaults = document.styles.element.find(qn("w:docDefaults"))
    r_pr = None if defaults is None else defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if r_pr is None:
        r_pr = normal.element.get_or_add_rPr()
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    lang.set(qn("w:val"), LANGUAGE)


def _set_properties(
    props: CoreProperties,
    template: Template,
    outline: PlanOutline,
    draft: bool,
    now: dt.datetime,
    messages: Messages,
) -> None:
    title = outline.document_title
    props.title = messages("export.draft_title", title=title) if draft else title
    props.author = outline.author or messages("export.default_author")
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


def _field_context(field: Field, messages: Messages, *, nested: bool) -> LayoutField:
    return LayoutField(
        label=field.breadcrumb if nested else field.label,
        guidance=field.guidance,
        text=field.text if field.answered else _missing_text(field, messages),
        items=field.items,
        period=field.period,
        answered=field.answered,
    )
