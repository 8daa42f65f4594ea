"""/exportera: the template's default copy at once, and one tap (or a typed word) for the other
copy or a PDF. Through the engine and service with the real renderer and LibreOffice, and through
`planbot chat` in a subprocess (both files saved)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import docx
import pytest

import exports.pdf
from dialogs import buttons
from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import load_templates
from dialogs.types import InboundKind
from exports.docx import GUIDANCE_STYLE, render_document
from tests.docx_reading import open_docx, style_name
from tests.helpers import Teacher

TEMPLATES = load_templates()


def guidance(data: bytes) -> list[str]:
    return [p.text for p in open_docx(data).paragraphs if style_name(p) == GUIDANCE_STYLE]


async def started(conversation: Conversation | None = None) -> Teacher:
    teacher = Teacher(conversation or Conversation(MemoryStore(), TEMPLATES, render_document))
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say("Närvaro i åk 7")
    await teacher.say("Ringsjöskolan")
    return teacher


async def test_exportera_gives_the_working_copy_at_once_and_offers_the_clean_copy_and_a_pdf() -> (
    None
):
    teacher = await started()
    heading = teacher.question.heading
    outs = await teacher.say("/exportera")
    [sent] = [o for o in outs if o.document is not None]
    assert sent.document is not None and sent.document.filename.endswith(".docx")
    assert "inlämningsexemplar" not in sent.document.filename
    assert guidance(sent.document.data)  # the handlingsplan's default: the working copy
    assert "UTKAST" in sent.text
    assert [c.label for c in sent.choices] == [
        "Inlämningsexemplar (utan vägledning)",
        "Som PDF också",
    ]
    assert "arbetsexemplaret" in (sent.note or "")
    assert teacher.question.heading == heading  # and the question is asked again

    # One tap: the copy to hand in, without the grey guidance, under a name of its own.
    outs = await teacher.press("Inlämningsexemplar", outs)
    [clean] = [o for o in outs if o.document is not None]
    assert clean.document is not None and clean.document.filename.endswith(".docx")
    assert "inlämningsexemplar" in clean.document.filename
    assert clean.document.filename != sent.document.filename
    assert guidance(clean.document.data) == []
    assert [c.label for c in clean.choices] == [
        "Arbetsexemplar (med vägledning)",
        "Som PDF också",
    ]

    # One tap: that copy as a PDF, and only the PDF (its .docx came a moment ago).
    outs = await teacher.press("Som PDF", outs)
    [pdf] = [o for o in outs if o.document is not None]
    assert pdf.document is not None and pdf.document.data.startswith(b"%PDF")
    assert pdf.document.filename == clean.document.filename.removesuffix(".docx") + ".pdf"
    assert "PDF" in pdf.text
    assert [c.label for c in pdf.choices] == ["Arbetsexemplar (med vägledning)"]


async def test_typed_wishes_where_there_are_no_buttons() -> None:
    teacher = await started()
    outs = await teacher.say("/exportera pdf")
    files = [o.document for o in outs if o.document is not None]
    assert [f.filename.rsplit(".", 1)[1] for f in files] == ["docx", "pdf"]
    assert guidance(files[0].data) and files[1].data.startswith(b"%PDF")

    outs = await teacher.say("/exportera inlämning")
    [clean] = [o.document for o in outs if o.document is not None]
    assert guidance(clean.data) == [] and "inlämningsexemplar" in clean.filename

    outs = await teacher.say("/Exportera inlamning, PDF")
    files = [o.document for o in outs if o.document is not None]
    assert [f.filename.rsplit(".", 1)[1] for f in files] == ["docx", "pdf"]
    assert guidance(files[0].data) == []


async def test_without_libreoffice_the_pdf_button_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports.pdf, "soffice", lambda: None)
    teacher = await started()
    outs = await teacher.say("/exportera")
    outs = await teacher.press("Som PDF", outs)
    assert not [o for o in outs if o.document is not None]
    assert "apt-get install libreoffice-writer-nogui" in teacher.text()
    # The other copy is still a tap away.
    assert any(c.label.startswith("Inlämningsexemplar") for o in outs for c in o.choices)


async def test_a_copy_button_names_its_plan_and_works_while_another_plan_is_open() -> None:
    teacher = await started()
    outs = await teacher.say("/exportera")
    await teacher.say("/ny")
    await teacher.press("Åtgärdsplan")
    asked = teacher.question.heading
    outs = await teacher.press("Inlämningsexemplar", outs)  # the handlingsplan's old button
    [clean] = [o.document for o in outs if o.document is not None]
    assert clean.filename.startswith("UTKAST – Handlingsplan – Närvaro i åk 7")
    await teacher.say("/hjalp")
    assert asked in teacher.text()  # the open plan is left as it was

    # A button of a plan that no longer exists changes nothing and says so.
    value = buttons.export_as("0" * 32, "inlamning")
    outs = await teacher.send(teacher.inbound(InboundKind.CHOICE, choice=value))
    assert outs and outs[0].notice and not [o for o in outs if o.document is not None]


def test_the_copy_buttons_fit_telegrams_64_bytes_and_parse_back() -> None:
    plan_id = "f" * 32
    for variant in ("arbetsexemplar", "inlamning"):
        for pdf in (False, True):
            value = buttons.export_as(plan_id, variant, pdf=pdf)
            assert len(value.encode()) <= 64
            assert buttons.parse(value) == buttons.ExportAs(plan_id, variant, pdf)
    assert isinstance(buttons.parse("xz:abc"), buttons.Unknown)
    assert isinstance(buttons.parse("xa:"), buttons.Unknown)


def test_planbot_chat_saves_the_docx_and_the_pdf(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "XDG_"))}
    env.update(HOME=str(tmp_path), PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "chat",
            "--db",
            str(tmp_path / "p.db"),
            "--out",
            str(tmp_path / "out"),
            "--user",
            "larare",
        ],
        input="1\nNärvaro i åk 7\n/exportera pdf\n/exportera inlämning\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(saved) == 3, saved
    docx_files = [n for n in saved if n.endswith(".docx")]
    [pdf] = [n for n in saved if n.endswith(".pdf")]
    assert (tmp_path / "out" / pdf).read_bytes().startswith(b"%PDF")
    [working] = [n for n in docx_files if "inlämningsexemplar" not in n]
    [clean] = [n for n in docx_files if "inlämningsexemplar" in n]
    assert pdf == working.removesuffix(".docx") + ".pdf"
    for name, has_guidance in ((working, True), (clean, False)):
        document = docx.Document(str(tmp_path / "out" / name))
        found = [
            p for p in document.paragraphs if p.style is not None and p.style.name == GUIDANCE_STYLE
        ]
        assert bool(found) is has_guidance, name
    # No number for a button the terminal cannot press; the note says what to type.
    assert "/exportera inlämning" in done.stdout
    assert "[1] Inlämningsexemplar" not in done.stdout
