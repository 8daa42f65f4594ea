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
from tests.test_atgardsplan import (
    FORBATTRINGAR_1,
    MAL_1,
    MAL_2,
    ORSAKER_1,
    ORSAKER_2,
    PROBLEM,
)

NOW = dt.datetime(2026, 5, 12, 9, 30, tzinfo=dt.UTC)
# Pages as the seeds' plans fill them (Calibri metrics via Carlito), working copy and copy
# to hand in: a range, so a font's small difference does not fail the test, a page of blank
# space does.
PAGES = {
    ("handlingsplan", "arbetsexemplar"): (2, 3),
    ("handlingsplan", "inlamning"): (2, 2),
    ("atgardsplan", "arbetsexemplar"): (5, 7),
    ("atgardsplan", "inlamning"): (5, 6),
    ("slutredovisning", "arbetsexemplar"): (3, 4),
    ("slutredovisning", "inlamning"): (3, 4),
}
Copy = tuple[str, str]  # (template id, variant)


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
def laid(tmp_path_factory: pytest.TempPathFactory) -> dict[Copy, Laid]:
    plans: dict[str, PlanRecord] = filled_plans()
    docs = {
        (tid, variant): render(TEMPLATES[tid], plans[tid], draft=False, now=NOW, variant=variant)
        for tid, variant in PAGES
    }
    pdfs = to_pdfs(list(docs.values()))  # PdfUnavailable says what to install: a failure
    out: dict[Copy, Laid] = {}
    for (copy, data), pdf in zip(docs.items(), pdfs, strict=True):
        text = _pdftotext(pdf, tmp_path_factory.mktemp("-".join(copy)))
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
        out[copy] = Laid(pages=[p for p in pages if p], held=held)
    return out


@pytest.mark.parametrize("copy", list(PAGES), ids="-".join)
def test_plan_fills_the_expected_number_of_pages(laid: dict[Copy, Laid], copy: Copy) -> None:
    low, high = PAGES[copy]
    assert low <= len(laid[copy].pages) <= high


@pytest.mark.parametrize("copy", list(PAGES), ids="-".join)
def test_no_page_ends_with_a_question_heading_or_its_guidance(
    laid: dict[Copy, Laid], copy: Copy
) -> None:
    for number, page in enumerate(laid[copy].pages[:-1], start=1):
        last = page[-1]
        ends_held = [h for h in laid[copy].held if last in h and len(last) > 3]
        assert not ends_held, f"sida {number} slutar med {last!r} (ur {ends_held[0]!r})"


def test_every_answer_reaches_the_pdf(laid: dict[Copy, Laid]) -> None:
    text = " ".join(" ".join(page) for page in laid["slutredovisning", "inlamning"].pages)
    assert "1 grön · 3 gula · 1 röd" in text
    assert text.count("Mål som inte uppnåtts och vad det beror på.") == 1


def test_matrix_keeps_long_swedish_compounds_whole(laid: dict[Copy, Laid]) -> None:
    """Four columns side by side: a word like "förvaltningsledningen" is not cut mid-word."""
    words = {
        word.strip(".,()")
        for text in (*PROBLEM, *ORSAKER_1, *MAL_1, *FORBATTRINGAR_1, *ORSAKER_2, *MAL_2)
        for word in text.split()
        if len(word.strip(".,()")) >= 14 and "/" not in word and "-" not in word
    }
    assert "förvaltningsledningen" in words
    for copy in (("atgardsplan", "arbetsexemplar"), ("atgardsplan", "inlamning")):
        printed = {
            w.strip(".,()") for page in laid[copy].pages for line in page for w in line.split()
        }
        assert words <= printed, sorted(words - printed)
