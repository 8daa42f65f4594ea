"""The file name a plan's document is saved and sent under.

"Handlingsplan – Tidig uppföljning av frånvaro – Ringsjöskolan – 2026-05-12 (3f9a1c).docx":
the kind of plan, the plan's own name, its school or unit, the day, and the first characters
of the plan's id. Two plans for the same school on the same day therefore never share a name
(a folder of downloads or `planbot chat --out` keeps both), while the same plan exported twice
on one day replaces its own earlier copy. A draft starts with "UTKAST – ", the same word the
document carries in its header. Å, ä and ö stay as written: every file system in a Swedish
school holds them; only what some file system refuses is dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from dialogs.messages import Messages
from dialogs.template import Template
from dialogs.types import PlanRecord
from exports.outline import answer_text, one_line

MAX_FILENAME_CHARS = 120
MAX_FILENAME_BYTES = 240  # most file systems stop at 255 bytes; emoji take four each
PLAN_ID_CHARS = 6  # of the plan's hex id: one in 16 million for two plans alike otherwise
_NOT_IN_FILENAMES = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
_SEPARATOR = " – "


def document_filename(
    template: Template,
    plan: PlanRecord,
    today: dt.date,
    *,
    draft: bool = False,
    copy: str = "",
    messages: Messages | None = None,
) -> str:
    """A name safe on every file system, unique to the plan, "UTKAST" first for a draft.
    `copy` names a copy other than the template's default ("inlämningsexemplar"), so the two
    copies of one plan saved in one folder do not replace each other."""
    kind = _part(template.document_title) or _part(template.name) or "Plan"
    title = _part(answer_text(plan.answers, template.title_field)) or _part(plan.title)
    unit = _part(answer_text(plan.answers, template.unit_field))
    short_id = _part(plan.id)[:PLAN_ID_CHARS]

    prefix = (messages or Messages.load())("export.draft") + _SEPARATOR if draft else ""
    copy_part = _SEPARATOR + _part(copy) if _part(copy) else ""
    suffix = (
        copy_part
        + _SEPARATOR
        + today.isoformat()
        + (f" ({short_id})" if short_id else "")
        + ".docx"
    )
    head = prefix + kind
    names: list[str] = []
    for text in (title, unit):
        if text and text.casefold() not in {n.casefold() for n in (kind, *names)}:
            names.append(text)

    # The plan's name first, then the unit; a long name leaves the unit up to 30 characters.
    parts: list[str] = []
    for i, text in enumerate(names):
        used = head + "".join(_SEPARATOR + p for p in parts) + _SEPARATOR + suffix
        later = [_shorten(n, 30, 60) for n in names[i + 1 :]]
        reserve = "".join(_SEPARATOR + n for n in later)
        cut = _shorten(
            text,
            MAX_FILENAME_CHARS - len(used + reserve),
            MAX_FILENAME_BYTES - _bytes(used + reserve),
        )
        if cut:
            parts.append(cut)
    if not parts:
        fixed = prefix + suffix
        head = prefix + _shorten(
            kind, MAX_FILENAME_CHARS - len(fixed), MAX_FILENAME_BYTES - _bytes(fixed)
        )
    return head + "".join(_SEPARATOR + p for p in parts) + suffix


def _part(text: str) -> str:
    text = unicodedata.normalize("NFC", one_line(text))
    return " ".join(_NOT_IN_FILENAMES.sub("", text).split()).strip(" .")


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _shorten(text: str, max_chars: int, max_bytes: int) -> str:
    text = text[: max(max_chars, 0)]
    while text and _bytes(text) > max_bytes:
        text = text[:-1]
    return text.rstrip(" .–-")
