"""Wording a teacher notices: plurals and gender, a note said once, no brackets inside
brackets. The texts live in prompts/; these tests read them as the teacher does."""

from __future__ import annotations

import re

import pytest

from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import Group, Question, load_templates
from exports.docx import render_document
from tests.helpers import Clock, Teacher
from tests.test_atgardsplan import hoor_conversation, play, quick_insats, start

TEMPLATES = load_templates()
MESSAGES = Messages.load()
REPEATED = sorted(
    {
        item.label
        for template in TEMPLATES.values()
        for _, item in template.walk()
        if isinstance(item, Group) and item.repeat
    }
)


@pytest.fixture
def teacher(store: MemoryStore) -> Teacher:
    return Teacher(Conversation(store, TEMPLATES, render_document, clock=Clock()))


@pytest.mark.parametrize("label", REPEATED)
def test_every_repeated_part_is_counted_with_its_own_plural_and_article(label: str) -> None:
    assert f"noun.{label.lower()}" in MESSAGES, f"add noun.{label.lower()} to prompts/messages"
    for count in (1, 2, 5):
        text = MESSAGES("more.text", label=label, count=count)
        assert "st." not in text
        assert re.search(rf"Du har {count} \w+ här", text), text


def test_a_count_reads_as_swedish() -> None:
    assert MESSAGES("more.text", label="Insats", count=1).startswith("Du har 1 insats här.")
    assert MESSAGES("more.text", label="Insats", count=2).startswith("Du har 2 insatser här.")
    one_area = MESSAGES("more.text", label="Område", count=1)
    assert one_area == "Du har 1 område här. Vill du lägga till ett till?"
    assert MESSAGES("more.text", label="Område", count=3).startswith("Du har 3 områden här.")
    assert MESSAGES("delete.confirm_all", count=1).count("1 plan med") == 1
    assert MESSAGES("delete.confirm_all", count=2).count("2 planer med") == 1


async def test_adding_another_area_asks_for_ett_till_and_another_insats_for_en_till(
    teacher: Teacher,
) -> None:
    await start(teacher, "Åtgärdsplan")
    await play(teacher, hoor_conversation()[:3])
    await teacher.press("Styrning och utveckling av verksamheten", [teacher.question])
    await quick_insats(teacher, "Ledningsteam")
    assert teacher.question.text == "Du har 1 insats här. Vill du lägga till en till?"
    await teacher.press("Ja", [teacher.question])
    await quick_insats(teacher, "Handledning")
    assert teacher.question.text == "Du har 2 insatser här. Vill du lägga till en till?"
    await teacher.press("Nej", [teacher.question])
    assert teacher.question.heading == "Lägga till ett utvecklingsområde till?"
    assert teacher.question.text == "Du har 1 område här. Vill du lägga till ett till?"


@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_an_optional_question_says_so_once(template_id: str) -> None:
    # The bot adds "Frivillig fråga." beside every optional question; the prompt need not.
    for path, item in TEMPLATES[template_id].walk():
        if isinstance(item, Question) and not item.required:
            assert "frivillig" not in item.prompt.casefold(), path


def test_the_notes_beside_a_question_have_no_brackets_of_their_own() -> None:
    # The terminal shows the note in brackets: "(Frivillig fråga. Skriv en sak per rad …)".
    for key in ("question.optional", "type_hint.text", "type_hint.long_text", "type_hint.list"):
        assert "(" not in MESSAGES(key), key
    for kind in ("date", "period", "count", "choice", "yesno"):
        assert "(" not in MESSAGES(f"type_hint.{kind}"), kind


def test_finishing_the_planning_part_does_not_say_planned_twice() -> None:
    text = MESSAGES("complete.planned", title="Närvaro", followup="20 maj 2027")
    assert "Planen är nu planerad" not in text
    assert text.startswith("Planeringsdelen av ”Närvaro” är klar")
