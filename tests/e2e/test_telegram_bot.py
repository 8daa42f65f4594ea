"""The Telegram bot end to end: the real python-telegram-bot Application, long polling the
Bot API emulator, the real engine and an SQLite file. A teacher writes and presses buttons; the
tests read what arrived in the chat. Every test also checks that Telegram (the emulator) never
had to refuse a call of the bot's.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import docx

from dialogs.template import Question, load_templates
from tests.e2e.telegram_emulator import Json, TelegramEmulator

if TYPE_CHECKING:
    from tests.e2e.telegram_fixtures import Teacher

# The fixtures (telegram_api, running_bot, ...) live in telegram_fixtures.py: conftest.py is
# shared with the Slack tests.
pytest_plugins = ["tests.e2e.telegram_fixtures"]

TEMPLATE = load_templates()["handlingsplan"]
QUESTIONS: dict[str, Question] = {
    item.label: item for _, item in TEMPLATE.walk() if isinstance(item, Question)
}


def heading_of(message: Json) -> str | None:
    """The question's label: the bold line under the progress line."""
    lines = message.get("text", "").split("\n")
    return lines[1] if len(lines) > 1 and "fråga " in lines[0] else None


async def answer_questions(teacher: Teacher, answers: dict[str, str]) -> None:
    """Answer each question the bot asks with the template's example, until it stops asking."""
    for _ in range(len(QUESTIONS) + 1):
        label = heading_of(teacher.last)
        if label is None:
            return
        question = QUESTIONS[label]
        assert question.example, label
        answers[question.id] = question.example
        replies = await teacher.says(question.example)
        assert heading_of(replies[-1]) != label or len(replies) > 1, f"{label} not accepted"
    raise AssertionError("the bot kept asking")


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def normalized(text: str) -> str:
    return " ".join(text.split())


async def test_teacher_fills_in_a_whole_handlingsplan_and_receives_the_docx(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    replies = await teacher.says("/start")
    assert heading_of(replies[-1]) == "Insatsens namn"
    assert replies[-1]["text"].startswith("Om planen · fråga 1 av 14")
    assert telegram_api.html_of(replies[-1]).startswith("<i>Om planen · fråga 1 av 14</i>\n<b>")

    answers: dict[str, str] = {}
    await answer_questions(teacher, answers)
    assert len(answers) == 14

    # The planning part is done: the plan comes as a document, with the upload action shown.
    await telegram_api.wait_for_messages(teacher.chat_id, lambda m: any("document" in x for x in m))
    assert (teacher.chat_id, "upload_document") in telegram_api.chat_actions

    # The follow-up ("Hur blev det?") is answered on another day; here at once, by command.
    await teacher.says("/uppfoljning")
    await answer_questions(teacher, answers)
    assert len(answers) == 17

    offer = teacher.message_with_button("Hämta dokumentet")
    documents_before = len(telegram_api.documents(teacher.chat_id))
    press, _ = await teacher.presses("Hämta dokumentet", offer)
    assert "reply_markup" not in now(telegram_api, offer)  # pressed: the keyboard is gone
    assert telegram_api.callback_answer(press).answered
    documents = telegram_api.documents(teacher.chat_id)
    assert len(documents) == documents_before + 1
    document = documents[-1]["document"]
    assert document["file_name"].startswith("Handlingsplan – Ringsjöskolan")
    assert document["file_name"].endswith(".docx")

    text = normalized(docx_text(await telegram_api.download(document["file_id"])))
    missing = [qid for qid, answer in answers.items() if normalized(answer) not in text]
    # Dates and periods are written out in the document ("20 maj 2027"), the rest verbatim.
    assert missing == [] or set(missing) <= {"tidplan", "nar_uppfoljning"}, missing
    assert "Ringsjöskolan, Höörs kommun" in text


def now(tg: TelegramEmulator, message: Json) -> Json:
    """The message as it looks in the chat now (after the bot's edits)."""
    [current] = [
        m
        for m in tg.bot_messages(message["chat"]["id"])
        if m["message_id"] == message["message_id"]
    ]
    return current


async def test_command_menu_is_published_in_swedish(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    commands = [c["command"] for c in telegram_api.commands]
    for command in ("ny", "planer", "oversikt", "exportera", "tillbaka", "andra", "hjalp"):
        assert command in commands
    assert {"paus", "radera"} <= set(commands)
    assert all(c["description"] for c in telegram_api.commands)
