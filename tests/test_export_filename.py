"""The name a plan's document is saved and sent under: the plan's own name, unique per plan,
UTKAST for a draft, safe on every file system."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from dialogs.template import Template, load_templates
from dialogs.types import AnswerValue, PlanRecord
from exports.docx import render_document
from exports.filename import document_filename

NOW = dt.datetime(2026, 5, 12, 9, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
SCHOOL = "Ringsjöskolan, Höörs kommun"


@pytest.fixture(scope="module")
def handlingsplan() -> Template:
    return load_templates(language="sv")["handlingsplan"]


def plan(title: str = "", unit: str = "", *, plan_id: str = "3f9a1c0b") -> PlanRecord:
    answers = {}
    if title:
        answers["titel"] = AnswerValue(text=title)
    if unit:
        answers["enhet"] = AnswerValue(text=unit)
    return PlanRecord(
        id=plan_id,
        template_id="handlingsplan",
        title=title,
        answers=answers,
        created_at=NOW,
        updated_at=NOW,
    )


def test_name_carries_the_plans_own_name_its_school_and_the_day(handlingsplan: Template) -> None:
    name = document_filename(handlingsplan, plan("Läsfrämjande i åk 4–6", SCHOOL), TODAY)
    assert name == (
        "Handlingsplan – Läsfrämjande i åk 4–6 – Ringsjöskolan, Höörs kommun"
        " – 2026-05-12 (3f9a1c).docx"
    )


def test_a_draft_says_utkast_in_its_name(handlingsplan: Template) -> None:
    draft = document_filename(handlingsplan, plan("Närvaro", SCHOOL), TODAY, draft=True)
    final = document_filename(handlingsplan, plan("Närvaro", SCHOOL), TODAY)
    assert draft.startswith("UTKAST – Handlingsplan – Närvaro")
    assert "UTKAST" not in final


def test_two_plans_for_the_same_school_on_the_same_day_never_share_a_name(
    handlingsplan: Template, tmp_path: Path
) -> None:
    # Even with the same title: the plan's id tells them apart, as on a teacher's disk.
    plans = [plan("Närvaro", SCHOOL, plan_id=uuid.uuid4().hex) for _ in range(50)]
    plans += [plan("Läsning", SCHOOL, plan_id=uuid.uuid4().hex) for _ in range(50)]
    names = {document_filename(handlingsplan, p, TODAY, draft=d) for p in plans for d in (0, 1)}
    assert len(names) == 200
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert len(list(tmp_path.iterdir())) == 200


def test_the_same_plan_exported_twice_on_a_day_keeps_one_name(handlingsplan: Template) -> None:
    one = plan("Närvaro", SCHOOL)
    assert document_filename(handlingsplan, one, TODAY) == document_filename(
        handlingsplan, one, TODAY
    )


def test_name_keeps_swedish_letters_and_drops_what_file_systems_refuse(
    handlingsplan: Template,
) -> None:
    name = document_filename(
        handlingsplan, plan('Åtgärder: "Öka" läsning?', "F-6/7-9 \\ <a>|b*\x07"), TODAY
    )
    assert name == "Handlingsplan – Åtgärder Öka läsning – F-67-9 ab – 2026-05-12 (3f9a1c).docx"


def test_decomposed_letters_from_a_mac_are_written_composed(handlingsplan: Template) -> None:
    decomposed = "Fo\u0308rskolan Ma\u030angen"  # "Förskolan Mången" as macOS may type it
    name = document_filename(handlingsplan, plan("Språk", decomposed), TODAY)
    assert "Förskolan Mången" in name


def test_a_very_long_name_is_cut_but_keeps_unit_date_id_and_extension(
    handlingsplan: Template,
) -> None:
    name = document_filename(
        handlingsplan, plan("Väldigt lång titel " * 30, SCHOOL), TODAY, draft=True
    )
    assert len(name) <= 120
    assert name.startswith("UTKAST – Handlingsplan – Väldigt lång titel")
    assert " – Ringsjöskolan, Höörs kommun – 2026-05-12 (3f9a1c).docx" in name
    emoji = document_filename(handlingsplan, plan("🏫" * 200, "📚" * 200), TODAY)
    assert len(emoji.encode()) <= 255
    assert emoji.endswith(" – 2026-05-12 (3f9a1c).docx")


def test_a_plan_without_a_name_yet_is_named_by_its_kind(handlingsplan: Template) -> None:
    assert document_filename(handlingsplan, plan(), TODAY) == (
        "Handlingsplan – 2026-05-12 (3f9a1c).docx"
    )
    assert document_filename(handlingsplan, plan("Handlingsplan", SCHOOL), TODAY) == (
        "Handlingsplan – Ringsjöskolan, Höörs kommun – 2026-05-12 (3f9a1c).docx"
    )


def test_the_channel_gets_the_draft_name_with_the_document(handlingsplan: Template) -> None:
    document = render_document(handlingsplan, plan("Närvaro", SCHOOL), draft=True, now=NOW)
    assert document.filename.startswith("UTKAST – Handlingsplan – Närvaro – ")
