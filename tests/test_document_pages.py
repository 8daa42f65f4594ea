"""The three plans laid out by LibreOffice, page by page: how many pages, and no question left
at the foot of a page without its answer.

This needs LibreOffice (`soffice`) and poppler's `pdftotext`; .ci/run installs both. Without
them the test fails with the message saying what to install – it is never skipped, because
the page flow is what a principal sees. One conversion for all three plans (a LibreOffice
start takes seconds).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from dialogs.types import PlanRecord
from exports.base_document import GUIDANCE_STYLE
from exports.docx import render
from exports.pdf import to_pdfs
from tests.docx_reading import open_docx, style_name
from tests.filled_plans import TEMPLATES, filled_plans

NOW = dt.datetime(2026, 5, 12, 9, 30, tzinfo=dt.UTC)
# Pages as the seeds' plans fill them (working copy, Calibri metrics via Carlito): a range,
# so a font's small difference does not fail the test, a page of blank space does.
PAGES = {"handlingsplan": (2, 3), "atgardsplan": (5, 7), "slutredovisning": (3, 4)}


@dataclass(frozen=True)
class Laid:
    pages: list[list[str]]  # each page's lines, the footer left out
    held: list[str]  # texts that must not end a page: headings and guidance


def _pdftotext(pdf: bytes, folder: Path) -> str:
    program = shutil.which("pdftotext")
    assert program, "pdftotext saknas: installera poppler-utils (apt-get install poppler-utils)"
    path = folder / "plan.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([program, str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


@pytest.fixture(scope="module")
def laid(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Laid]:
    plans: dict[str, PlanRecord] = filled_plans()
    docs = {
        tid: render(TEMPLATES[tid], plan, draft=False, now=NOW, variant="arbetsexemplar")
        for tid, plan in plans.items()
    }
    pdfs = to_pdfs(list(docs.values()))  # PdfUnavailable says what to install: a failure
    out: dict[str, Laid] = {}
    for (tid, data), pdf in zip(docs.items(), pdfs, strict=True):
        text = _pdftotext(pdf, tmp_path_factory.mktemp(tid))
        pages = [
            [line.strip() for line in page.splitlines() if line.strip() and " · Sida " not in line]
            for page in text.split("\f")
        ]
        document = open_docx(data)
        held = [
            p.text
            for p in document.paragraphs
            if p.text and (style_name(p).startswith("Heading") or style_name(p) == GUIDANCE_STYLE)
        ]
        out[tid] = Laid(pages=[p for p in pages if p], held=held)
    return out


@pytest.mark.parametrize("template_id", list(PAGES))
def test_plan_fills_the_expected_number_of_pages(laid: dict[str, Laid], template_id: str) -> None:
    low, high = PAGES[template_id]
    assert low <= len(laid[template_id].pages) <= high


@pytest.mark.parametrize("template_id", list(PAGES))
def test_no_page_ends_with_a_question_heading_or_its_guidance(
    laid: dict[str, Laid], template_id: str
) -> None:
    for number, page in enumerate(laid[template_id].pages[:-1], start=1):
        last = page[-1]
        ends_held = [h for h in laid[template_id].held if last in h and len(last) > 3]
        assert not ends_held, f"sida {number} slutar med {last!r} (ur {ends_held[0]!r})"


def test_every_answer_reaches_the_pdf(laid: dict[str, Laid]) -> None:
    text = " ".join(" ".join(page) for page in laid["slutredovisning"].pages)
    assert "1 grön · 3 gula · 1 röd" in text
    assert text.count("Mål som inte uppnåtts och vad det beror på.") == 1
