"""The Telegram bot end to end: the real python-telegram-bot Application, long polling the
Bot API emulator, the real engine and an SQLite file. A teacher writes and presses buttons; the
tests read what arrived in the chat. Every test also checks that Telegram (the emulator) never
had to refuse a call of the bot's.
"""

from __future__ import annotations

import asyncio
import copy
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

    # The planning part is done: the teacher sees it whole and confirms; the plan comes as a
    # document, with the upload action shown.
    assert "Stämmer planen?" in teacher.last["text"]
    await teacher.presses("Ja, det stämmer – planen är planerad")
    await telegram_api.wait_for_messages(teacher.chat_id, lambda m: any("document" in x for x in m))
    assert (teacher.chat_id, "upload_document") in telegram_api.chat_actions

    # The follow-up ("Hur blev det?") is answered on another day; here at once, by command.
    await teacher.says("/uppfoljning")
    await answer_questions(teacher, answers)
    assert len(answers) == 17
    await teacher.presses("Ja, det stämmer – planen är klar")

    offer = teacher.message_with_button("Hämta dokumentet")
    documents_before = len(telegram_api.documents(teacher.chat_id))
    press, _ = await teacher.presses("Hämta dokumentet", offer)
    assert "reply_markup" not in now(telegram_api, offer)  # pressed: the keyboard is gone
    assert telegram_api.callback_answer(press).answered
    documents = telegram_api.documents(teacher.chat_id)
    assert len(documents) == documents_before + 1
    document = documents[-1]["document"]
    assert document["file_name"].startswith("Handlingsplan – Tidig uppföljning av frånvaro")
    assert document["file_name"].endswith(".docx")

    text = normalized(docx_text(await telegram_api.download(document["file_id"])))
    missing = [qid for qid, answer in answers.items() if normalized(answer) not in text]
    assert missing == [], missing
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


async def test_an_old_button_pressed_again_gets_a_short_answer_and_changes_nothing(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    await teacher.says("Närvaroteamet")
    await teacher.says("/start")  # a returning teacher is offered to continue
    offer = teacher.message_with_button("Fortsätt")
    stale_keyboard = copy.deepcopy(offer["reply_markup"])
    _, replies = await teacher.presses("Fortsätt", offer)
    assert "reply_markup" not in now(telegram_api, offer)
    assert heading_of(replies[-1]) == "Skola/enhet"
    seen = len(teacher.seen)

    # A stale client still shows the button; it is pressed once more.
    [button] = [b for row in stale_keyboard["inline_keyboard"] for b in row if
                b["text"] == "Fortsätt"]  # fmt: skip
    again = telegram_api.press(offer, button["callback_data"], force=True)
    answer = (await telegram_api.wait_for_callback_answer(again)).answer_text
    assert answer is not None and "gäller inte längre" in answer
    replies = await teacher.says("Ringsjöskolan, Höörs kommun")
    assert len(teacher.seen) == seen + len(replies)  # the press itself sent no message
    assert heading_of(replies[-1]) == "Upprättad av"


async def test_the_same_update_delivered_twice_is_stored_once(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    before = len(teacher.seen)
    update = telegram_api.send_text(teacher.id, "Tidig uppföljning av frånvaro")
    replies = await teacher.replies(before)
    assert heading_of(replies[-1]) == "Skola/enhet"

    before = len(teacher.seen)
    telegram_api.deliver_again(update)
    # The inbox knows the update was processed: taken, and neither stored nor answered again.
    for _ in range(100):
        if not telegram_api.pending_updates:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert telegram_api.pending_updates == 0
    assert len(teacher.seen) == before

    replies = await teacher.says("Ringsjöskolan")
    assert heading_of(replies[-1]) == "Upprättad av"
    overview = "\n".join(m["text"] for m in await teacher.says("/oversikt"))
    assert "Insatsens namn:\nTidig uppföljning av frånvaro\n" in overview
    assert "Skola/enhet:\nRingsjöskolan\n" in overview  # not the re-delivered text


async def test_sticker_photo_voice_and_location_get_an_explanation_and_the_question_again(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    sends = (
        telegram_api.send_sticker,
        telegram_api.send_photo,
        telegram_api.send_voice,
        telegram_api.send_location,
        telegram_api.send_document_from_user,
    )
    for send in sends:
        before = len(teacher.seen)
        send(teacher.id)
        replies = await teacher.replies(before)
        assert len(replies) >= 2, [r["text"] for r in replies]
        assert heading_of(replies[-1]) == "Insatsens namn"  # the question again
    explanations = " ".join(m["text"] for m in teacher.seen)
    for media in ("sticker", "bild", "röstmeddelande", "plats", "fil"):
        assert media in explanations

    replies = await teacher.says("Tidig uppföljning")
    assert heading_of(replies[-1]) == "Skola/enhet"  # nothing was stored for question 1


async def test_an_edited_old_message_is_not_taken_as_an_answer(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    before = len(teacher.seen)
    first = telegram_api.send_text(teacher.id, "Tidig uppföljning")
    await teacher.replies(before)
    before = len(teacher.seen)
    telegram_api.edit_text(first, "Sen uppföljning")
    replies = await teacher.replies(before)
    assert heading_of(replies[-1]) == "Skola/enhet"
    overview = "\n".join(m["text"] for m in await teacher.says("/oversikt"))
    assert "Tidig uppföljning" in overview and "Sen uppföljning" not in overview


async def test_in_a_group_the_bot_asks_the_teacher_to_write_privately(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    group = -1_000_000_000_042
    telegram_api.send_text(teacher.id, "/start@planbot_test_bot", chat_type="supergroup",
                           chat_id=group)  # fmt: skip
    [reply] = await telegram_api.wait_until_quiet(group, 0)
    assert "privat" in reply["text"] and "@planbot_test_bot" in reply["text"]
    assert teacher.seen == []  # no conversation was started
    replies = await teacher.says("/start")
    assert heading_of(replies[-1]) == "Insatsens namn"


async def test_teacher_text_is_escaped_and_a_long_answer_fits_telegrams_limit(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    await teacher.says("<b>Närvaro</b> & trivsel i åk 7")
    await teacher.says("Ringsjöskolan")
    await teacher.says("Arbetslag 7–9")
    # Nulägesanalys: exactly 4,096 characters (Telegram's most), with characters HTML escapes.
    sentence = "Närvaron <10 %> & ströfrånvaron följs upp varje vecka i arbetslaget. "
    long_answer = "\n\n".join([sentence * 6] * 40)[:4096].rstrip()
    long_answer += "x" * (4096 - len(long_answer))
    assert len(long_answer) == 4096
    replies = await teacher.says(long_answer)
    # A message this long may be the first piece of a longer text: the bot waits for more,
    # or for the teacher to say it is all there.
    assert "4096 tecken" in replies[-1]["text"]
    _, replies = await teacher.presses("Klar – spara svaret")
    assert heading_of(replies[-1]) == "Mål"

    # Long answers to the next questions, so the overview outgrows one Telegram message.
    prose = " ".join(f"Mening {n} om arbetet med närvaro & trivsel i åk 7." for n in range(12))
    dated = {"Detaljerad tidplan": "ht-26 – vt-27", "När?": "20 maj 2027"}
    while (label := heading_of(teacher.last)) is not None:
        await teacher.says(dated.get(label, prose))

    before = len(teacher.seen)
    telegram_api.send_text(teacher.id, "/oversikt")
    overview = await teacher.replies(before)
    parts = overview[:-1]  # then the bot says what can be done next
    assert parts[0]["text"].startswith("Översikt")
    assert len(parts) >= 2, "the overview was expected to be split"
    for message in overview:
        assert len(message["text"]) <= 4096
        assert len(telegram_api.html_of(message)) <= 4096
    for part in parts[1:]:  # split at paragraph boundaries: each part starts a block
        first_line = part["text"].split("\n", 1)[0]
        assert first_line.endswith(":") or first_line.startswith("—"), first_line
    shown = "\n".join(m["text"] for m in overview)
    assert "<b>Närvaro</b> & trivsel i åk 7" in shown  # shown literally, not as bold


async def test_flood_control_delays_the_answer_but_loses_nothing(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    telegram_api.flood(teacher.chat_id, retry_after=1, times=1)
    replies = await teacher.says("Tidig uppföljning av frånvaro")
    assert heading_of(replies[-1]) == "Skola/enhet"
    assert [c.error for c in telegram_api.errors()] == ["Too Many Requests: retry after 1"]
