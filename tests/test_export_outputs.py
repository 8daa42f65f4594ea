"""What /exportera can hand a teacher besides the default .docx: the other copy, a PDF next
to it (or, without LibreOffice, a message saying what to install), and the organisation's
own Word layout named in the settings."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import pytest

import exports.pdf
from bot.app import start_runtime
from bot.settings import Settings
from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.types import Outbound, PlanRecord
from exports.base_document import GUIDANCE_STYLE
from exports.docx import Renderer, render_document
from exports.pdf import PdfUnavailable, to_pdf
from tests.docx_reading import headings, open_docx, style_name
from tests.filled_plans import TEMPLATES
from tests.test_export_docx import ANSWERS, STEP_TITLES, make_plan

NOW = dt.datetime(2026, 5, 12, 9, 30, tzinfo=dt.UTC)
EXAMPLE_LAYOUT = Path(__file__).resolve().parents[1] / "docs" / "layout-example.docx"
HP = TEMPLATES["handlingsplan"]


@pytest.fixture
def plan() -> PlanRecord:
    return make_plan(dict(ANSWERS))


def no_libreoffice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports.pdf, "soffice", lambda: None)


# ------------------------------------------------------------------------- PDF


def test_pdf_without_libreoffice_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    no_libreoffice(monkeypatch)
    with pytest.raises(PdfUnavailable) as raised:
        to_pdf(b"PK")
    message = str(raised.value)
    assert "LibreOffice saknas" in message
    assert "apt-get install libreoffice-writer-nogui" in message
    assert "Word-dokumentet (.docx) fungerar som vanligt" in message


async def test_service_sends_the_chosen_copy_then_its_pdf(plan: PlanRecord) -> None:
    conversation = Conversation(MemoryStore(), TEMPLATES, render_document)
    asked = Outbound(
        text="Här är planen.", export_plan_id=plan.id, export_variant="inlamning", export_pdf=True
    )
    docx_out, pdf_out = await conversation._with_document(asked, {plan.id: plan}, NOW)
    assert docx_out.text == "Här är planen." and docx_out.document is not None
    assert docx_out.document.filename.endswith(".docx")
    document = open_docx(docx_out.document.data)
    assert not [p for p in document.paragraphs if style_name(p) == GUIDANCE_STYLE]
    assert pdf_out.document is not None
    assert pdf_out.document.filename == docx_out.document.filename.removesuffix(".docx") + ".pdf"
    assert pdf_out.document.data.startswith(b"%PDF")


async def test_service_without_libreoffice_still_sends_the_docx_and_says_why_no_pdf(
    plan: PlanRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_libreoffice(monkeypatch)
    conversation = Conversation(MemoryStore(), TEMPLATES, render_document)
    asked = Outbound(text="Här är planen.", export_plan_id=plan.id, export_pdf=True)
    docx_out, note = await conversation._with_document(asked, {plan.id: plan}, NOW)
    assert docx_out.document is not None and docx_out.document.data.startswith(b"PK")
    assert note.document is None and "LibreOffice saknas" in note.text


async def test_export_without_choices_is_the_templates_default_copy(plan: PlanRecord) -> None:
    conversation = Conversation(MemoryStore(), TEMPLATES, render_document)
    asked = Outbound(text="Här är planen.", export_plan_id=plan.id)
    [out] = await conversation._with_document(asked, {plan.id: plan}, NOW)
    assert out.document is not None
    document = open_docx(out.document.data)
    assert [p for p in document.paragraphs if style_name(p) == GUIDANCE_STYLE]  # arbetsexemplar


# ------------------------------------------------------------------------- own layout


def settings_with_layouts(tmp_path: Path, layouts: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}",
        layouts_dir=layouts,
        _env_file=None,
    )


async def test_layout_named_in_the_settings_is_what_the_teacher_gets(
    tmp_path: Path, plan: PlanRecord
) -> None:
    layouts = tmp_path / "layouter"
    layouts.mkdir()
    shutil.copy(EXAMPLE_LAYOUT, layouts / "handlingsplan.docx")
    runtime = await start_runtime(settings_with_layouts(tmp_path, layouts))
    try:
        renderer = runtime.conversation.renderer
        document = open_docx(renderer(HP, plan, draft=False, now=NOW).data)
        header = document.sections[0].header.paragraphs[0].text
        assert header.startswith("Exempelkommunen")
        assert "UTKAST" not in header
        texts = [p.text for p in document.paragraphs]
        assert texts[0] == "Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
        assert [h for h in headings(document) if h in STEP_TITLES] == STEP_TITLES
        assert "Mentorerna ringer hem samma dag." in texts
        assert "(Vad ska ni göra? Hur?)" in texts  # the working copy keeps the guidance
        assert [p.text for p in document.paragraphs if style_name(p) == "List Bullet"] == [
            "Alla elever i åk 7",
            "Elever med ströfrånvaro",
        ]
        clean = open_docx(renderer(HP, plan, draft=True, now=NOW, variant="inlamning").data)
        assert "(Vad ska ni göra? Hur?)" not in [p.text for p in clean.paragraphs]
        assert "UTKAST" in clean.sections[0].header.paragraphs[0].text
        # Another template without a layout of its own gets planbot's document.
        report = make_plan({}).model_copy(update={"template_id": "atgardsplan"})
        own = open_docx(renderer(TEMPLATES["atgardsplan"], report, draft=True, now=NOW).data)
        assert not own.sections[0].header.paragraphs[0].text.startswith("Exempelkommunen")
    finally:
        await runtime.close()


def test_a_broken_layout_is_logged_and_the_teacher_gets_the_plan_anyway(
    tmp_path: Path, plan: PlanRecord, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "handlingsplan.docx").write_text("inte word", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="exports.docx"):
        document = Renderer(tmp_path)(HP, plan, draft=False, now=NOW)
    assert "handlingsplan.docx" in caplog.text and "kan inte öppnas som Word-mall" in caplog.text
    assert "Steg 1: Var är vi?" in headings(open_docx(document.data))


def test_the_two_copies_of_one_plan_do_not_replace_each_other_in_a_folder(
    plan: PlanRecord,
) -> None:
    """A teacher who saves the working copy and the copy to hand in gets two files."""
    working = render_document(HP, plan, draft=False, now=NOW, variant="arbetsexemplar")
    clean = render_document(HP, plan, draft=False, now=NOW, variant="inlamning")
    assert working.filename != clean.filename
    assert "inlämningsexemplar" in clean.filename
    assert "exemplar" not in working.filename  # the template's default copy: the plain name
