"""Issue 9 through the real Telegram channel (PTB against the Bot API emulator): paragraphs
sent as separate messages a second apart are one answer, a message sent later answers the
next question, typed button numbers and labels press the buttons, and every answer stands
under its own question in the .docx."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import TYPE_CHECKING

import docx

from bot.app import start_runtime
from tests.e2e.telegram_emulator import Json, TelegramEmulator
from tests.helpers import Clock
from tests.test_answers_land import HP, PARAGRAPH_1, PARAGRAPH_2
from tests.test_console_e2e import ANSWERS, read_docx

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


GENOMFORANDE_MORE = "Skolsköterskan är med när frånvaron kan ha med hälsan att göra."


async def test_a_whole_plan_replayed_as_teachers_write_puts_every_answer_under_its_question(
    telegram_api: TelegramEmulator, database_url: str, tmp_path: Path
) -> None:
    """Paragraphs in a burst, a question to the bot, "Lägg till i förra svaret", /andra with
    a label, a typed button number, a mistyped command and the review, through PTB and the
    emulator; the bot's clock is the test's, so only the burst is one."""
    # Loaded by pytest_plugins above: imported here so that it is not imported twice.
    from tests.e2e.telegram_fixtures import Teacher, bot_settings, polling_bot

    clock = Clock()
    runtime = await start_runtime(bot_settings(telegram_api, database_url))
    runtime.conversation.clock = clock
    try:
        async with polling_bot(bot_settings(telegram_api, database_url), runtime):
            teacher = Teacher(telegram_api)
            await teacher.says("/start")
            for key in ("titel", "enhet", "forfattare"):
                await teacher.says(ANSWERS[key])

            await teacher.says(PARAGRAPH_1)
            clock.advance(seconds=1)
            replies = await teacher.says(PARAGRAPH_2)
            assert "lade till det i svaret på ”Nulägesanalys”" in replies[0]["text"]
            assert heading_of(teacher.last_question()) == "Mål"
            clock.advance(minutes=2)

            replies = await teacher.says("Vad menas med mål här?")
            assert any("Hjälp: Mål" in r["text"] for r in replies)
            teacher.message_with_button("Spara frågan som svar")
            for key in ("mal", "aktivitet", "malgrupp", "genomforande"):
                await teacher.says(ANSWERS[key])
            clock.advance(minutes=5)
            await teacher.presses("Lägg till i förra svaret")
            await teacher.says(GENOMFORANDE_MORE)
            assert heading_of(teacher.last_question()) == "När och hur ofta?"
            for key in ("nar_hur_ofta", "resurser", "tidplan"):
                await teacher.says(ANSWERS[key])

            await teacher.says("/andra")
            await teacher.says("Mål")
            assert heading_of(teacher.last_question()) == "Mål"
            await teacher.says("1")  # the first button: Behåll svaret
            assert heading_of(teacher.last_question()).startswith("Planerad metod")
            replies = await teacher.says("/oversigt")
            assert "Menade du /oversikt?" in replies[0]["text"]
            for key in ("datainsamling", "nar_uppfoljning", "vem_uppfoljning"):
                await teacher.says(ANSWERS[key])
            assert "Stämmer planen?" in teacher.last["text"]
            await teacher.says("1")  # [1] Ja, det stämmer – planen är planerad
            await telegram_api.wait_for_messages(
                teacher.chat_id, lambda m: any("document" in x for x in m)
            )
            document = telegram_api.documents(teacher.chat_id)[-1]["document"]
            saved = tmp_path / "plan.docx"
            saved.write_bytes(await telegram_api.download(document["file_id"]))
            under = read_docx(saved).under  # the answers, without the template's guidance
    finally:
        await runtime.close()

    assert under["Nulägesanalys"] == PARAGRAPH_1 + "\n" + PARAGRAPH_2
    assert under["Mål"] == ANSWERS["mal"]
    assert under["Genomförande"] == ANSWERS["genomforande"] + "\n" + GENOMFORANDE_MORE
    for key in ("aktivitet", "malgrupp", "nar_hur_ofta", "resurser", "datainsamling"):
        label = HP.question(key).label
        assert under[label] == ANSWERS[key], label
    assert under[HP.question("vem_uppfoljning").label] == ANSWERS["vem_uppfoljning"]


def heading_of(message: Json) -> str:
    """The bold line after the progress line of a question."""
    lines = message["text"].split("\n")
    return lines[1] if len(lines) > 1 else ""
