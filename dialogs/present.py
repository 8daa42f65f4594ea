"""How answers and places in a plan are written for the teacher: an answer as shown,
"Område 2 › Insats 1", a shortened button label, a yes/no read from typed text."""

from __future__ import annotations

import datetime as dt

from dialogs import buttons, dates, validators
from dialogs.commands import fold
from dialogs.messages import Messages
from dialogs.slots import Frame
from dialogs.template import AnswerType, Question
from dialogs.types import AnswerValue

_YESNO = Question(id="yesno", label="", prompt="", type=AnswerType.YESNO)


def yes_or_no(text: str) -> str | None:
    """ "ja"/"nej" for a typed yes or no ("Ja!", "nej tack"), else None."""
    return validators.parse_choice(_YESNO, text)


def shown(msg: Messages, value: AnswerValue) -> str:
    if value.skipped:
        return msg("overview.skipped")
    if value.items:
        return "\n".join(f"• {item}" for item in value.items)
    if value.start is not None and value.end is not None:
        written = dates.describe_period(value.start, value.end)
        return value.text if written == value.text else f"{value.text} ({written})"
    return value.text


def frame_title(trail: tuple[Frame, ...]) -> str:
    """ "Område 2 › Insats 1" for the innermost instance of a trail."""
    return " › ".join(f.crumb for f in trail)


def instance_name(answers: dict[str, AnswerValue], frame: Frame) -> str:
    if frame.group.name_field is None:
        return ""
    value = answers.get(f"{frame.path}.{frame.group.name_field}")
    return "" if value is None or value.skipped else " ".join(value.text.split())


def path_words(text: str) -> str:
    """ "Område 2 › Insats 1", "område 2 > insats 1" and "Omrade 2 Insats 1" alike."""
    return " ".join(fold(text).replace("›", " ").replace(">", " ").replace("/", " ").split())


def short(text: str, limit: int) -> str:
    text = " ".join(text.split()) if limit <= 80 else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def describe_date(value: object) -> str:
    """A stored follow-up date as the teacher reads it, "" when there is none."""
    if isinstance(value, dt.date):
        return dates.describe_period(value, value)
    return ""


def numbered(labels: list[str], prefix: str) -> list[tuple[str, str]]:
    """(button label, token) for a numbered list: "1. Mål", the number the list shows and a
    teacher may type; the token picks the item by its place (buttons.indexed)."""
    return [
        (short(f"{i + 1}. {label}", 60), buttons.indexed(prefix, i))
        for i, label in enumerate(labels)
    ]
