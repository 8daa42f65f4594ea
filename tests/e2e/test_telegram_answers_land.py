"""Issue 9 through the real Telegram channel (PTB against the Bot API emulator): paragraphs
sent as separate messages a second apart are one answer, a message sent later answers the
next question, typed button numbers and labels press the buttons, and every answer stands
under its own question in the .docx."""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import docx
import pytest

from tests.e2e.telegram_emulator import TelegramEmulator
from tests.test_answers_land import PARAGRAPH_1, PARAGRAPH_2
from tests.test_console_e2e import ANSWERS

if TYPE_CHECKING:
    from tests.e2e.telegram_fixtures import Teacher

pytest_plugins = ["tests.e2e.telegram_fixtures"]


def answers_under_headings(data: bytes) -> dict[str, str]:
    """Heading 2 text -> the paragraphs under it, as a reader of the .docx sees them."""
    under: dict[str, list[str]] = {}
    current: str | None = None
    for paragraph in docx.Document(io.BytesIO(data)).paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        if style.startswith("Heading"):
            current = paragraph.text if style == "Heading 2" else None
            if current is not None:
                under[current] = []
        elif current is not None and paragraph.text.strip():
            under[current].append(paragraph.text)
    return {k: "\n".join(v) for k, v in under.items()}


async def test_two_paragraphs_sent_a_second_apart_land_under_one_heading(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    for key in ("titel", "enhet", "forfattare"):
        await teacher.says(ANSWERS[key])
    assert "Nulägesanalys" in teacher.last_question()["text"]
    before = len(teacher.seen)
    telegram_api.send_text(teacher.id, PARAGRAPH_1)
    await asyncio.sleep(1)
    telegram_api.send_text(teacher.id, PARAGRAPH_2)
    await teacher.replies(before)
    await teacher.says("/exportera")
    document = telegram_api.documents(teacher.chat_id)[-1]["document"]
    under = answers_under_headings(await telegram_api.download(document["file_id"]))
    assert PARAGRAPH_1 in under["Nulägesanalys"] and PARAGRAPH_2 in under["Nulägesanalys"]
    assert PARAGRAPH_2 not in under["Mål"]
