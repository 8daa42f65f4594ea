"""The three plans as a principal hands them in: read back with python-docx the way Word lays
them out – what keeps together at a page break, which table rows repeat and which may not
split, the widths in the table grid, the file's own properties – and seed 004's shape of the
slutredovisning. The plans are the seeds' own, played through the engine (tests/filled_plans).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from docx.document import Document as WordDocument
from docx.enum.section import WD_ORIENT

from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import DocumentVariant
from dialogs.types import AnswerValue, PlanRecord
from exports.base_document import BASE_DOCX, GUIDANCE_STYLE
from exports.docx import render
from tests.docx_reading import (
    blocks,
    cannot_split,
    cell_bullets,
    cell_fill,
    cell_lines,
    fixed_layout,
    grid_widths_cm,
    headings,
    is_header_row,
    keeps_with_next,
    open_docx,
    style_name,
    tables_under,
)
from tests.filled_plans import TEMPLATES, filled_plans
from tests.helpers import Clock, Teacher
from tests.test_atgardsplan import FORBATTRINGAR_1, hoor_conversation, play, start
from tests.test_slutredovisning import EJ_UPPNATT, GOALS, NAMN

NOW = dt.datetime(2026, 5, 12, 9, 30, tzinfo=dt.UTC)
TEMPLATE_IDS = ("handlingsplan", "atgardsplan", "slutredovisning")


@pytest.fixture(scope="module")
def plans() -> dict[str, PlanRecord]:
    return filled_plans()


def doc_of(plan: PlanRecord, variant: str | None = None, *, draft: bool = False) -> bytes:
    return render(TEMPLATES[plan.template_id], plan, draft=draft, now=NOW, variant=variant)


@pytest.fixture(scope="module")
def working(plans: dict[str, PlanRecord]) -> dict[str, WordDocument]:
    return {tid: open_docx(doc_of(plan, "arbetsexemplar")) for tid, plan in plans.items()}


# ------------------------------------------------------------------------- page flow


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_question_heading_and_guidance_keep_with_the_answer(
    working: dict[str, WordDocument], template_id: str
) -> None:
    body = [b.paragraph for b in blocks(working[template_id]) if b.paragraph is not None]
    held = [p for p in body if style_name(p).startswith("Heading") or style_name(p) == "Title"]
    guidance = [p for p in body if style_name(p) == GUIDANCE_STYLE]
    assert held and (guidance or template_id == "slutredovisning")
    for paragraph in (*held, *guidance):
        assert keeps_with_next(paragraph), (style_name(paragraph), paragraph.text)
    # The answer's first lines follow: orphan control in the body text.
    normal = working[template_id].styles["Normal"]
    assert normal.paragraph_format.widow_control


def test_guidance_has_its_own_paragraph_style(working: dict[str, WordDocument]) -> None:
    document = working["handlingsplan"]
    style = document.styles[GUIDANCE_STYLE]
    assert style.font.italic and style.font.size is not None and style.font.size.pt == 9
    guided = [b.paragraph for b in blocks(document) if b.paragraph is not None and b.under("Mål")]
    assert style_name(guided[0]) == GUIDANCE_STYLE
    assert guided[0].text.startswith("(Vilket eller vilka resultat")


# ------------------------------------------------------------------------- tables


def test_insats_matrix_repeats_its_headings_and_stands_in_landscape(
    working: dict[str, WordDocument],
) -> None:
    document = working["atgardsplan"]
    [matrix] = tables_under(document, "Område 1", "Insats 2")
    heads = [c.text for c in matrix.rows[0].cells]
    assert heads[0].startswith("Problem kopplade till") and heads[3] == "Synliga förbättringar"
    assert is_header_row(matrix.rows[0]) and is_header_row(matrix.rows[1])  # labels, guidance
    assert not is_header_row(matrix.rows[2])
    assert all(cannot_split(row) for row in matrix.rows)
    assert fixed_layout(matrix)
    widths = grid_widths_cm(matrix)
    assert len(widths) == 4 and len(set(widths)) == 1 and sum(widths) == pytest.approx(24.7, 0.1)
    landscape = [s for s in document.sections if s.orientation == WD_ORIENT.LANDSCAPE]
    assert len(landscape) == 1 and document.sections[0].orientation == WD_ORIENT.PORTRAIT


def test_label_value_tables_have_their_widths_in_the_grid(
    working: dict[str, WordDocument],
) -> None:
    identity = working["handlingsplan"].tables[0]
    assert grid_widths_cm(identity) == [5.0, 11.0] and fixed_layout(identity)
    [insats] = tables_under(working["slutredovisning"], "Område 1", f"Insats 1: {NAMN}")
    assert grid_widths_cm(insats) == [6.0, 10.0] and fixed_layout(insats)
    for row in insats.rows:
        assert cannot_split(row)
        assert [round(c.width.cm, 1) for c in row.cells if c.width is not None] in ([6.0, 10.0], [])


def test_a_cell_longer_than_a_page_may_split(plans: dict[str, PlanRecord]) -> None:
    plan = plans["slutredovisning"]
    long = ("Processledningsgruppen har arbetat vidare med strukturen. " * 120).strip()
    answers = dict(plan.answers)
    answers["omrade[1].insats[1].lardomar"] = AnswerValue(text=long)
    document = open_docx(doc_of(plan.model_copy(update={"answers": answers})))
    [insats] = tables_under(document, "Område 1", f"Insats 1: {NAMN}")
    [row] = [r for r in insats.rows if r.cells[0].text.startswith("Vilka lärdomar")]
    assert not cannot_split(row)  # Word and LibreOffice would cut it off otherwise
    assert cell_lines(row.cells[1]) == [long]


# ------------------------------------------------------------------------- the file itself


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_file_is_the_projects_own_without_python_docx_traces(
    plans: dict[str, PlanRecord], template_id: str
) -> None:
    data = doc_of(plans[template_id])
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = set(package.namelist())
        app = package.read("docProps/app.xml").decode()
        settings = package.read("word/settings.xml").decode()
        types = package.read("[Content_Types].xml").decode()
    assert not any("thumbnail" in n or "stylesWithEffects" in n for n in names)
    assert "jpeg" not in types
    assert "<Application>planbot</Application>" in app and "Macintosh" not in app
    mode = re.search(r'w:name="compatibilityMode"[^>]*w:val="(\d+)"', settings)
    assert mode is not None and mode.group(1) == "15"
    assert "proofState" not in settings  # a teacher's typos get marked
    props = open_docx(data).core_properties
    author = {
        "handlingsplan": "Arbetslag 7–9 och elevhälsoteamet",  # "Upprättad av"
        "atgardsplan": "Huvudman Höör",  # the huvudman
        "slutredovisning": "Norbergs kommun, förskolorna",
    }[template_id]
    assert props.author == props.last_modified_by == author
    assert props.language == "sv-SE" and props.created == NOW
    assert "python-docx" not in (props.comments + props.keywords + props.category)


def test_base_document_is_committed_and_has_the_styles() -> None:
    document = open_docx(BASE_DOCX.read_bytes())
    assert GUIDANCE_STYLE in [s.name for s in document.styles]
    section = document.sections[0]
    assert section.left_margin is not None and round(section.left_margin.cm, 1) == 2.5
    assert document.core_properties.author == ""


# ------------------------------------------------------------------------- leftovers


def test_skipped_optional_date_is_left_out_of_a_finished_plan(
    working: dict[str, WordDocument], plans: dict[str, PlanRecord]
) -> None:
    assert plans["atgardsplan"].answers["datum"].skipped
    document = working["atgardsplan"]
    identity = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert [r[0] for r in identity] == ["Huvudman och enhet", "Skapad"]
    everything = "\n".join(
        [p.text for p in document.paragraphs]
        + [c.text for t in document.tables for r in t.rows for c in r.cells]
    )
    assert "Ej besvarad" not in everything


def test_one_heading_per_name_and_tidplan_spelled_one_way(
    working: dict[str, WordDocument],
) -> None:
    found = headings(working["atgardsplan"])
    assert found.count("Erfarenhetsspridning") == 1
    assert "Tidplan" in found and not any("Tidsplan" in h for h in found)


def test_seed_texts_are_printed(working: dict[str, WordDocument]) -> None:
    def texts(template_id: str) -> list[str]:
        return [p.text for p in working[template_id].paragraphs]

    hp = texts("handlingsplan")
    assert hp[1].startswith("Uppgift 5: Ta fram en handlingsplan") or any(
        t.startswith("Uppgift 5: Ta fram en handlingsplan") for t in hp
    )
    steg4 = hp[hp.index("Steg 4: Hur blev det?") :]
    sub = steg4.index("Resultat och stöd inför ett nytt steg 1")
    träff_6 = "Den här delen av handlingsplanen arbetar ni tillsammans med under träff 6"
    assert steg4[sub + 1] == träff_6
    assert steg4.index("Resultat") > sub and steg4.index("Vem/vilka?") < sub
    [subheading] = [p for p in working["handlingsplan"].paragraphs if p.text == steg4[sub]]
    # A heading, but not one of the questions (Heading 2): the part they stand in.
    assert style_name(subheading) == "Heading 3" and keeps_with_next(subheading)
    ap = texts("atgardsplan")
    assert any(t.startswith("Den genomförda nulägesanalysen har visat") for t in ap)
    assert any(t.startswith("Det är huvudmannen som ansvarar för att åtgärdsplaner") for t in ap)
    sr = texts("slutredovisning")
    assert "Syftet med slutredovisningen" in headings(working["slutredovisning"])
    assert any(t.startswith("Slutredovisningen är en del i huvudmannens") for t in sr)
    assert any(t.startswith("Det kan finnas flera utvecklingsområden.") for t in sr)


# ------------------------------------------------------------------------- slutredovisning


def test_goals_not_reached_are_explained_once_per_insats(
    working: dict[str, WordDocument],
) -> None:
    document = working["slutredovisning"]
    [insats] = tables_under(document, "Område 1", f"Insats 1: {NAMN}")
    rows = [r for r in insats.rows if r.cells[0].text.startswith("Mål som inte uppnåtts")]
    assert len(rows) == 1
    said = rows[0].cells[1]
    not_green = [goal for goal, level, _ in GOALS if level != "Grönt – uppnått"]
    assert cell_bullets(said) == not_green
    all_text = "\n".join(c.text for r in insats.rows for c in r.cells)
    assert all_text.count(EJ_UPPNATT) == 1
    assert all_text.count("Mål som inte uppnåtts") == 1


def test_goal_rows_hold_colour_and_improvements_without_question_labels(
    working: dict[str, WordDocument],
) -> None:
    [insats] = tables_under(working["slutredovisning"], "Område 1", f"Insats 1: {NAMN}")
    texts = [[c.text for c in row.cells] for row in insats.rows]
    assert not any("Upprepa målen" in t for row in texts for t in row)
    [head] = [r for r in texts if r[0] == "I vilken utsträckning har ni nått målen?"]
    assert head[1] == "Vilka synliga förbättringar ser ni i förhållande till målen?"
    for goal, level, improvements in GOALS:
        [row] = [r for r in insats.rows if r.cells[0].text == goal]
        assert cell_lines(row.cells[1]) == [level, improvements]
        assert cell_fill(row.cells[0]) is not None


def test_summary_names_each_insats_once_with_its_colour_counts(
    working: dict[str, WordDocument],
) -> None:
    summary = working["slutredovisning"].tables[1]
    assert is_header_row(summary.rows[0]) and not is_header_row(summary.rows[1])
    assert all(cannot_split(row) for row in summary.rows)
    first_cells = {row.cells[0]._tc for row in summary.rows[1:]}
    assert len(first_cells) == 1  # one merged cell for the insats
    where = cell_lines(summary.rows[1].cells[0])
    assert where == [f"Insats 1: {NAMN}", "1 grön · 3 gula · 1 röd"]
    assert "Område 1" not in "\n".join(c.text for r in summary.rows for c in r.cells)


async def test_a_number_the_teacher_typed_is_not_doubled_in_the_heading(
    plans: dict[str, PlanRecord],
) -> None:
    plan = plans["slutredovisning"]
    answers = dict(plan.answers)
    answers["omrade[1].insats[1].namn"] = AnswerValue(text=f"Insats 3: {NAMN}")
    document = open_docx(doc_of(plan.model_copy(update={"answers": answers})))
    found = headings(document)
    assert f"Insats 3: {NAMN}" in found
    assert not any("Insats 1: Insats 3" in h for h in found)


async def test_planned_improvements_from_the_atgardsplan_stand_next_to_the_observed() -> None:
    store = MemoryStore()
    teacher = Teacher(Conversation(store, TEMPLATES, render_document_for_tests, clock=Clock()))
    await start(teacher, "Åtgärdsplan")
    await play(teacher, hoor_conversation())
    await teacher.say("/ny")
    await teacher.press("Slutredovisning")
    await teacher.press("Utgå från åtgärdsplanen", [teacher.question])
    sent = len(teacher.documents())
    for _ in range(60):  # answer everything left, the goals green
        question = teacher.question
        if question.choices and any(c.label.startswith("Grönt") for c in question.choices):
            await teacher.press("Grönt", [question])
        elif question.choices and any(
            c.label.startswith("Ja, det stämmer") for c in question.choices
        ):
            await teacher.press("Ja, det stämmer", [question])  # the review before klar
        elif question.choices and any(c.label == "Nej" for c in question.choices):
            await teacher.press("Nej", [question])
        else:
            await teacher.say("Ledningsgruppen har arbetat med detta i workshops.")
        if len(teacher.documents()) > sent:
            break
    [report] = [p for _, p in store.plans.values() if p.template_id == "slutredovisning"]
    assert report.status.value == "klar"
    document = open_docx(doc_of(report, "arbetsexemplar"))
    [insats] = tables_under(document, "Område 1", "Insats 1")
    firsts = [row.cells[0].text for row in insats.rows]
    planned = firsts.index("Synliga förbättringar angivna i åtgärdsplanen.")
    assert cell_bullets(insats.rows[planned].cells[1]) == FORBATTRINGAR_1
    assert firsts[planned + 1] == "I vilken utsträckning har ni nått målen?"


# ------------------------------------------------------------------------- two versions


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_clean_copy_leaves_out_the_guidance_the_working_copy_keeps(
    plans: dict[str, PlanRecord], working: dict[str, WordDocument], template_id: str
) -> None:
    clean = open_docx(doc_of(plans[template_id], "inlamning"))
    guidance_clean = [p for p in clean.paragraphs if style_name(p) == GUIDANCE_STYLE]
    cells = [p for t in clean.tables for r in t.rows for c in r.cells for p in c.paragraphs]
    assert not guidance_clean
    assert not [p for p in cells if style_name(p) == GUIDANCE_STYLE]
    kept = [p for p in working[template_id].paragraphs if style_name(p) == GUIDANCE_STYLE]
    if template_id != "slutredovisning":
        assert kept
    assert headings(clean) == headings(working[template_id])  # the same plan, every answer


def test_each_template_names_its_default_copy(plans: dict[str, PlanRecord]) -> None:
    # The seeds' plans as handed in (002, 004) keep the form's guiding texts.
    assert all(t.document_variant is DocumentVariant.WORKING for t in TEMPLATES.values())
    default = open_docx(doc_of(plans["handlingsplan"]))
    assert [p for p in default.paragraphs if style_name(p) == GUIDANCE_STYLE]
    clean_by_default = TEMPLATES["handlingsplan"].model_copy(
        update={"document_variant": DocumentVariant.CLEAN}
    )
    document = open_docx(render(clean_by_default, plans["handlingsplan"], draft=False, now=NOW))
    assert not [p for p in document.paragraphs if style_name(p) == GUIDANCE_STYLE]


def render_document_for_tests(*args: object, **kwargs: object) -> object:
    from exports.docx import render_document

    return render_document(*args, **kwargs)  # type: ignore[arg-type]
