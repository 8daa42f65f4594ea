"""The exported Word document, read back the way Word would show it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path

import docx
import pytest
from docx.document import Document as WordDocument
from docx.shared import Pt, RGBColor
from docx.text.paragraph import Paragraph

from dialogs.messages import Messages
from dialogs.service import DocumentRenderer
from dialogs.template import Template, load_templates
from dialogs.types import AnswerValue, PlanRecord
from exports.docx import (
    LayoutError,
    render_document,
    render_docx,
    render_with_layout,
)

NOW = dt.datetime(2026, 5, 12, 9, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 5, 12)

# Every handlingsplan path with a recognisable answer, in the seed's order.
ANSWERS: dict[str, AnswerValue] = {
    "titel": AnswerValue(text="Tidig uppföljning av frånvaro i åk 7"),
    "enhet": AnswerValue(text="Ringsjöskolan, Höörs kommun"),
    "forfattare": AnswerValue(text="Arbetslag 7–9 och elevhälsoteamet"),
    "nulagesanalys": AnswerValue(
        text="Närvarostatistiken för ht-25 visar 14 % frånvaro.\n\nMest på måndagar."
    ),
    "mal": AnswerValue(text="Andelen elever med mer än 10 % frånvaro ska minska till 8 %."),
    "aktivitet": AnswerValue(text="Mentorerna ringer hem samma dag."),
    "malgrupp": AnswerValue(
        text="- Alla elever i åk 7\n- Elever med ströfrånvaro",
        items=("Alla elever i åk 7", "Elever med ströfrånvaro"),
    ),
    "genomforande": AnswerValue(text="Kuratorn håller i elevsamtalen."),
    "nar_hur_ofta": AnswerValue(text="Varje måndag i arbetslaget."),
    "resurser": AnswerValue(text="30 minuter planeringstid i veckan."),
    "tidplan": AnswerValue(
        text="ht-26 – vt-27", start=dt.date(2026, 8, 1), end=dt.date(2027, 6, 30)
    ),
    "datainsamling": AnswerValue(text="Ny närvarostatistik tas ut i maj."),
    "nar_uppfoljning": AnswerValue(
        text="20 maj 2027", start=dt.date(2027, 5, 20), end=dt.date(2027, 5, 20)
    ),
    "vem_uppfoljning": AnswerValue(text="Mentorerna i åk 7 med kuratorn."),
    "resultat": AnswerValue(text="Frånvaron minskade från 14 % till 9 %."),
    "analys": AnswerValue(text="Måndagsfrånvaron minskade mest."),
    "vidare": AnswerValue(text="Rutinen sprids till åk 8 och 9."),
}

STEP_TITLES = [
    "Steg 1: Var är vi?",
    "Steg 2: Vart ska vi?",
    "Steg 3: Hur gör vi?",
    "Steg 4: Hur blev det?",
]


@pytest.fixture(scope="module")
def handlingsplan() -> Template:
    return load_templates()["handlingsplan"]


@pytest.fixture(scope="module")
def messages() -> Messages:
    return Messages.load()


def make_plan(
    answers: dict[str, AnswerValue], state: Mapping[str, object] | None = None
) -> PlanRecord:
    return PlanRecord(
        id="p1",
        template_id="handlingsplan",
        title="Tidig uppföljning av frånvaro i åk 7",
        answers=answers,
        state=dict(state or {}),
        created_at=NOW - dt.timedelta(days=30),
        updated_at=NOW,
    )


def render(template: Template, plan: PlanRecord, *, draft: bool = False) -> WordDocument:
    data = render_docx(template, plan, draft=draft, now=NOW)
    return docx.Document(io.BytesIO(data))


def all_text(document: WordDocument) -> str:
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs]
        parts += [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def headings(document: WordDocument) -> list[tuple[str, str]]:
    return [
        (p.style.name, p.text)
        for p in document.paragraphs
        if p.style is not None and p.style.name.startswith("Heading")
    ]


def after_heading(document: WordDocument, text: str) -> list[Paragraph]:
    """The paragraphs between the heading `text` and the next heading."""
    paragraphs = document.paragraphs
    start = next(
        i
        for i, p in enumerate(paragraphs)
        if p.text == text and p.style is not None and p.style.name.startswith("Heading")
    )
    out: list[Paragraph] = []
    for p in paragraphs[start + 1 :]:
        if p.style is not None and p.style.name.startswith("Heading"):
            break
        out.append(p)
    return out


def is_grey(paragraph: Paragraph) -> bool:
    return bool(paragraph.runs) and all(
        r.font.color.rgb == RGBColor(0x6E, 0x6E, 0x6E) for r in paragraph.runs
    )


# --------------------------------------------------------------------------- content


def test_steps_and_questions_appear_as_headings_in_seed_order(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    found = headings(document)
    assert [t for s, t in found if s == "Heading 1"] == STEP_TITLES
    expected_h2 = [
        handlingsplan.question(q).label
        for q in ANSWERS
        if q not in ("titel", "enhet", "forfattare")
    ]
    assert [t for s, t in found if s == "Heading 2"] == expected_h2
    assert found[0] == ("Heading 1", "Steg 1: Var är vi?")


def test_every_answer_stands_under_its_heading_in_seed_order(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    for path, value in ANSWERS.items():
        if path in ("titel", "enhet", "forfattare", "malgrupp", "tidplan", "nar_uppfoljning"):
            continue
        question = handlingsplan.question(path)
        under = after_heading(document, question.label)
        assert question.guidance is not None
        guidance = " ".join(question.guidance.split())
        assert " ".join(under[0].text.split()) == guidance, path
        lines = [line for line in value.text.split("\n") if line.strip()]
        assert [p.text for p in under[1:]] == lines, path


def test_guidance_is_small_grey_italic(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    guidance = after_heading(document, "Nulägesanalys")[0]
    assert guidance.style is not None and guidance.style.name == "Vägledning"
    for font in (guidance.style.font, guidance.runs[0].font):
        assert font.italic
        assert font.size == Pt(9)
        assert font.color.rgb == RGBColor(0x6E, 0x6E, 0x6E)


def test_title_names_the_plan_and_identity_table_lists_unit_author_and_date(
    handlingsplan: Template,
) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    title = next(p for p in document.paragraphs if p.style is not None and p.style.name == "Title")
    assert title.text == "Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
    rows = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert rows == [
        ["Insatsens namn", "Tidig uppföljning av frånvaro i åk 7"],
        ["Skola/enhet", "Ringsjöskolan, Höörs kommun"],
        ["Upprättad av", "Arbetslag 7–9 och elevhälsoteamet"],
        ["Skapad", "2026-05-12"],
    ]


def test_list_answer_becomes_bullets(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    under = after_heading(document, "Målgrupp")[1:]
    assert [(p.style.name if p.style else "", p.text) for p in under] == [
        ("List Bullet", "Alla elever i åk 7"),
        ("List Bullet", "Elever med ströfrånvaro"),
    ]


def test_period_is_written_out_after_the_text_as_written(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    under = after_heading(document, "Detaljerad tidplan")
    assert under[-1].text == "ht-26 – vt-27 (1 augusti 2026 – 30 juni 2027)"


def test_skipped_and_unanswered_questions_say_ej_besvarad_in_grey(
    handlingsplan: Template,
) -> None:
    answers = {k: v for k, v in ANSWERS.items() if k not in ("mal", "resultat")}
    answers["resurser"] = AnswerValue(skipped=True)
    document = render(handlingsplan, make_plan(answers), draft=True)
    for label in ("Mål", "Resurser/stöd/behov"):
        answer = after_heading(document, label)[-1]
        assert answer.text == "Ej besvarad"
        assert is_grey(answer)


def test_followup_questions_not_yet_answered_wait_for_the_followup(
    handlingsplan: Template,
) -> None:
    answers = {k: v for k, v in ANSWERS.items() if k not in ("resultat", "analys", "vidare")}
    document = render(handlingsplan, make_plan(answers))
    for label in ("Resultat", "Analys och slutsatser"):
        answer = after_heading(document, label)[-1]
        assert answer.text == "Fylls i vid uppföljningen"
        assert is_grey(answer)


def test_empty_plan_renders_every_heading_without_answers(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan({}), draft=True)
    texts = all_text(document)
    assert "Ej besvarad" in texts
    assert [t for s, t in headings(document) if s == "Heading 1"] == STEP_TITLES


def test_answers_under_unknown_paths_are_left_out(handlingsplan: Template) -> None:
    answers = dict(ANSWERS)
    answers["borttagen_fraga"] = AnswerValue(text="Gammalt svar")
    answers["omrade[3].insats[1].problem"] = AnswerValue(text="Annat gammalt svar")
    texts = all_text(render(handlingsplan, make_plan(answers)))
    assert "Gammalt svar" not in texts
    assert "Annat gammalt svar" not in texts


# --------------------------------------------------------------------------- draft


def test_draft_is_marked_utkast_at_the_top_in_the_header_and_title(
    handlingsplan: Template,
) -> None:
    document = render(handlingsplan, make_plan(ANSWERS), draft=True)
    first = document.paragraphs[0]
    assert first.text.startswith("UTKAST")
    assert all(r.bold and r.font.color.rgb == RGBColor(0xC0, 0x00, 0x00) for r in first.runs)
    assert "UTKAST" in document.sections[0].header.paragraphs[0].text
    assert document.core_properties.title.startswith("UTKAST – Handlingsplan – ")


def test_finished_plan_has_no_utkast_anywhere(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS), draft=False)
    assert "UTKAST" not in all_text(document)
    assert "UTKAST" not in document.core_properties.title


def test_core_properties_name_plan_author_date_and_template(handlingsplan: Template) -> None:
    props = render(handlingsplan, make_plan(ANSWERS)).core_properties
    assert props.title == "Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
    assert props.author == "Arbetslag 7–9 och elevhälsoteamet"
    assert props.created == NOW
    assert props.subject == "Handlingsplan"
    assert props.language == "sv-SE"


def test_author_without_upprattad_av_is_the_unit_not_the_program(
    handlingsplan: Template,
) -> None:
    answers = {k: v for k, v in ANSWERS.items() if k != "forfattare"}
    props = render(handlingsplan, make_plan(answers)).core_properties
    assert props.author == "Ringsjöskolan, Höörs kommun"
    assert props.last_modified_by == props.author


def test_page_is_a4_in_swedish(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    section = document.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert 'w:val="sv-SE"' in document.styles.element.xml


# --------------------------------------------------------------------------- hostile text


def test_twenty_thousand_character_answer_comes_out_whole(handlingsplan: Template) -> None:
    long = ("Närvaro och frånvaro i åk 7. " * 800)[:20_000]
    answers = dict(ANSWERS, nulagesanalys=AnswerValue(text=long))
    under = after_heading(render(handlingsplan, make_plan(answers)), "Nulägesanalys")
    assert under[1].text == long.strip()
    assert len(under[1].text) >= 19_990


def test_emoji_and_right_to_left_text_come_out_intact(handlingsplan: Template) -> None:
    text = "Eleverna 😀👩🏽‍🏫 skrev: مرحبا بالعالم och שלום עולם 🇸🇪"
    answers = dict(ANSWERS, mal=AnswerValue(text=text), enhet=AnswerValue(text="Skola 🏫 مدرسة"))
    document = render(handlingsplan, make_plan(answers))
    assert after_heading(document, "Mål")[-1].text == text
    assert document.tables[0].rows[1].cells[1].text == "Skola 🏫 مدرسة"


def test_control_characters_are_removed_without_error(handlingsplan: Template) -> None:
    answers = dict(
        ANSWERS,
        mal=AnswerValue(text="Före\x00\x07\x1bEfter"),
        titel=AnswerValue(text="Titel\x0b med\x1f tecken"),
        malgrupp=AnswerValue(text="x", items=("Ett\x00", "Två\x1b")),
    )
    document = render(handlingsplan, make_plan(answers), draft=True)
    assert after_heading(document, "Mål")[-1].text == "FöreEfter"
    assert "Titel med tecken" in document.core_properties.title
    assert [p.text for p in after_heading(document, "Målgrupp")[1:]] == ["Ett", "Två"]


def test_template_syntax_in_answers_stays_literal(handlingsplan: Template) -> None:
    answers = dict(
        ANSWERS,
        mal=AnswerValue(text="{{ 7*7 }} och {% if true %}ja{% endif %}"),
        titel=AnswerValue(text="{{ 7*7 }}"),
    )
    document = render(handlingsplan, make_plan(answers))
    assert after_heading(document, "Mål")[-1].text == "{{ 7*7 }} och {% if true %}ja{% endif %}"
    assert document.core_properties.title == "Handlingsplan – {{ 7*7 }}"
    assert "49" not in all_text(document)


def test_render_document_hands_the_channel_a_named_document(handlingsplan: Template) -> None:
    renderer: DocumentRenderer = render_document
    document = renderer(handlingsplan, make_plan(ANSWERS), draft=True, now=NOW)
    assert document.filename == (
        "UTKAST – Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
        " – Ringsjöskolan, Höörs kommun – 2026-05-12 (p1).docx"
    )
    assert document.title == "Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
    assert document.draft
    assert docx.Document(io.BytesIO(document.data)).paragraphs[0].text.startswith("UTKAST")


# --------------------------------------------------------------------------- nested groups

NESTED = Template.model_validate(
    {
        "id": "nestad",
        "name": "Åtgärdsplan",
        "description": "Områden med insatser",
        "document_title": "Åtgärdsplan",
        "title_field": "titel",
        "steps": [
            {
                "id": "om",
                "title": "Om planen",
                "numbered": False,
                "items": [{"id": "titel", "label": "Namn", "prompt": "Namn?", "type": "text"}],
            },
            {
                "id": "plan",
                "title": "Utvecklingsområden",
                "items": [
                    {
                        "id": "omrade",
                        "label": "Utvecklingsområde",
                        "items": [
                            {"id": "namn", "label": "Område", "prompt": "Vilket område?"},
                            {
                                "id": "insats",
                                "label": "Insats",
                                "items": [
                                    {"id": "problem", "label": "Problem", "prompt": "Problem?"},
                                    {"id": "mal", "label": "Mål", "prompt": "Mål?"},
                                ],
                            },
                        ],
                    },
                    {"id": "risker", "label": "Risker", "prompt": "Risker?"},
                ],
            },
        ],
    }
)


def test_nested_groups_get_a_numbered_heading_per_instance() -> None:
    state = {
        "instances": {
            "omrade": ["1", "4"],
            "omrade[1].insats": ["1", "2"],
            "omrade[4].insats": ["7", "9"],
        }
    }
    answers = {
        "titel": AnswerValue(text="Plan"),
        "risker": AnswerValue(text="Tidsbrist"),
    }
    for o in ("1", "4"):
        answers[f"omrade[{o}].namn"] = AnswerValue(text=f"Område-{o}")
        for i in ("1", "2", "7", "9"):
            answers[f"omrade[{o}].insats[{i}].problem"] = AnswerValue(text=f"P-{o}-{i}")
    answers["omrade[4].insats[9].mal"] = AnswerValue(text="Mål-4-9")
    plan = make_plan(answers, state).model_copy(update={"template_id": "nestad"})
    document = render(NESTED, plan)
    outline = [
        (p.style.name if p.style else "", p.text)
        for p in document.paragraphs
        if p.style is not None and (p.style.name.startswith("Heading") or p.text)
    ]
    body = outline[outline.index(("Heading 1", "Utvecklingsområden")) :]
    assert body == [
        ("Heading 1", "Utvecklingsområden"),
        ("Heading 2", "Utvecklingsområde 1"),
        ("Heading 3", "Område"),
        ("Normal", "Område-1"),
        ("Heading 3", "Insats 1"),
        ("Heading 4", "Problem"),
        ("Normal", "P-1-1"),
        ("Heading 4", "Mål"),
        ("Normal", "Ej besvarad"),
        ("Heading 3", "Insats 2"),
        ("Heading 4", "Problem"),
        ("Normal", "P-1-2"),
        ("Heading 4", "Mål"),
        ("Normal", "Ej besvarad"),
        ("Heading 2", "Utvecklingsområde 2"),
        ("Heading 3", "Område"),
        ("Normal", "Område-4"),
        ("Heading 3", "Insats 1"),
        ("Heading 4", "Problem"),
        ("Normal", "P-4-7"),
        ("Heading 4", "Mål"),
        ("Normal", "Ej besvarad"),
        ("Heading 3", "Insats 2"),
        ("Heading 4", "Problem"),
        ("Normal", "P-4-9"),
        ("Heading 4", "Mål"),
        ("Normal", "Mål-4-9"),
        ("Heading 2", "Risker"),
        ("Normal", "Tidsbrist"),
    ]


# --------------------------------------------------------------------------- own layout


def build_layout(path: Path) -> Path:
    """A minimal organisation layout: a header with the draft mark and a loop over steps."""
    layout = docx.Document()
    layout.sections[0].header.paragraphs[0].text = "{% if draft %}{{ labels.draft }}{% endif %}"
    layout.add_paragraph("{{ title }}")
    layout.add_paragraph("Enhet: {{ unit }} · {{ author }} · {{ date }}")
    layout.add_paragraph("{%p for step in steps %}")
    layout.add_paragraph("## {{ step.title }}")
    layout.add_paragraph("{%p for field in step.fields %}")
    layout.add_paragraph("{{ field.label }}: {{ field.text }}")
    layout.add_paragraph("{%p if field.period %}")
    layout.add_paragraph("Period: {{ field.period }}")
    layout.add_paragraph("{%p endif %}")
    layout.add_paragraph("{%p for item in field.items %}")
    layout.add_paragraph("• {{ item }}")
    layout.add_paragraph("{%p endfor %}")
    layout.add_paragraph("{%p endfor %}")
    layout.add_paragraph("{%p endfor %}")
    layout.save(str(path))
    return path


def test_organisations_own_layout_gets_the_plan(tmp_path: Path, handlingsplan: Template) -> None:
    answers = dict(ANSWERS, mal=AnswerValue(text="Mer än 10 % <b>frånvaro</b> & {{ 7*7 }}"))
    layout = build_layout(tmp_path / "kommunens-mall.docx")
    data = render_with_layout(layout, handlingsplan, make_plan(answers), draft=True, now=NOW)
    document = docx.Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
    assert texts[1] == (
        "Enhet: Ringsjöskolan, Höörs kommun · Arbetslag 7–9 och elevhälsoteamet · 2026-05-12"
    )
    steps = [t for t in texts if t.startswith("## ")]
    assert steps == ["## " + title for title in STEP_TITLES]
    assert "Mål: Mer än 10 % <b>frånvaro</b> & {{ 7*7 }}" in texts
    assert "Period: 1 augusti 2026 – 30 juni 2027" in texts
    assert "• Alla elever i åk 7" in texts
    assert "UTKAST" in document.sections[0].header.paragraphs[0].text
    assert document.core_properties.title.startswith("UTKAST – ")


def test_own_layout_without_draft_has_no_utkast(tmp_path: Path, handlingsplan: Template) -> None:
    layout = build_layout(tmp_path / "mall.docx")
    data = render_with_layout(layout, handlingsplan, make_plan(ANSWERS), draft=False, now=NOW)
    document = docx.Document(io.BytesIO(data))
    assert "UTKAST" not in all_text(document)


def test_broken_layout_says_which_file_and_what_to_fix(
    tmp_path: Path, handlingsplan: Template
) -> None:
    broken = docx.Document()
    broken.add_paragraph("{{ title ")
    path = tmp_path / "trasig.docx"
    broken.save(str(path))
    with pytest.raises(LayoutError, match=r"trasig\.docx: fel i mallens Jinja-taggar"):
        render_with_layout(path, handlingsplan, make_plan(ANSWERS), draft=False, now=NOW)
    not_word = tmp_path / "inte-word.docx"
    not_word.write_text("hej", encoding="utf-8")
    with pytest.raises(LayoutError, match="kan inte öppnas som Word-mall"):
        render_with_layout(not_word, handlingsplan, make_plan(ANSWERS), draft=False, now=NOW)


def test_layout_cannot_reach_python_internals(tmp_path: Path, handlingsplan: Template) -> None:
    evil = docx.Document()
    evil.add_paragraph("{{ title.__class__.__mro__ }}")
    path = tmp_path / "elak.docx"
    evil.save(str(path))
    with pytest.raises(LayoutError, match="unsafe"):
        render_with_layout(path, handlingsplan, make_plan(ANSWERS), draft=False, now=NOW)


def test_footer_names_the_plan_and_numbers_pages(handlingsplan: Template) -> None:
    footer = render(handlingsplan, make_plan(ANSWERS)).sections[0].footer
    xml = footer._element.xml
    assert "Handlingsplan – Tidig uppföljning av frånvaro i åk 7 · Sida " in xml
    assert 'w:instr="PAGE"' in xml
    assert 'w:instr="NUMPAGES"' in xml


def test_a_day_written_out_already_is_not_repeated(handlingsplan: Template) -> None:
    document = render(handlingsplan, make_plan(ANSWERS))
    assert after_heading(document, "När?")[-1].text == "20 maj 2027"
