"""A PDF of the Word document, made by LibreOffice (`soffice --headless --convert-to pdf`).

LibreOffice is not a Python package and not needed for the bot's two commands: where it is
installed, a teacher can have the plan as PDF next to the .docx; where it is not, the call
raises `PdfUnavailable` whose message (Swedish, from prompts/messages) says what to install.
Each conversion gets a LibreOffice profile of its own in a temporary folder, so two
conversions at once (two teachers) do not lock each other out.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dialogs.messages import Messages
from dialogs.service import DocumentUnavailable

TIMEOUT_SECONDS = 120


class PdfUnavailable(DocumentUnavailable):
    """LibreOffice is not installed: the message says what to install."""


class PdfFailed(DocumentUnavailable):
    """LibreOffice is there but did not produce a PDF."""


def soffice() -> str | None:
    """The LibreOffice program, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx_bytes: bytes, *, messages: Messages | None = None) -> bytes:
    """The PDF of one .docx."""
    [pdf] = to_pdfs([docx_bytes], messages=messages)
    return pdf


def to_pdfs(documents: Sequence[bytes], *, messages: Messages | None = None) -> list[bytes]:
    """PDFs of several .docx files in one LibreOffice start (a start takes seconds)."""
    msgs = messages or Messages.load()
    program = soffice()
    if program is None:
        raise PdfUnavailable(msgs("export.pdf_unavailable"))
    with tempfile.TemporaryDirectory(prefix="planbot-pdf-") as tmp:
        folder = Path(tmp)
        sources = []
        for n, data in enumerate(documents):
            source = folder / f"plan{n}.docx"
            source.write_bytes(data)
            sources.append(source)
        command = [
            program,
            f"-env:UserInstallation={(folder / 'profil').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *map(str, sources),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfFailed(msgs("export.pdf_failed", error=str(exc))) from exc
        pdfs = [source.with_suffix(".pdf") for source in sources]
        if done.returncode != 0 or not all(p.is_file() for p in pdfs):
            error = done.stderr.decode("utf-8", "replace").strip() or f"kod {done.returncode}"
            raise PdfFailed(msgs("export.pdf_failed", error=error))
        return [p.read_bytes() for p in pdfs]
