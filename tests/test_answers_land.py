"""Issue 9: every answer lands where the teacher meant it.

Each test acts as a teacher did when the answer went astray: paragraphs sent as separate
messages, a typed button number or label, a menu item typed by name, a question to the bot,
a date to be read back, and the progress line in nested parts. Through the engine (Teacher),
and through `planbot chat` where the terminal is the channel that matters.

Bursts need a window: the engine tests run with the default 3 s and a test clock.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import start_runtime
from bot.settings import Settings
from dialogs import asked
from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import Phase, Question, Template, load_templates
from dialogs.types import AnswerValue, Outbound, PlanRecord
from exports.docx import render_document
from tests.channel_prompts import handlingsplan_only
from tests.helpers import Clock, Teacher
from tests.test_atgardsplan import hoor_conversation, play, quick_insats, two_areas
from tests.test_atgardsplan import start as start_plan
from tests.test_console_e2e import ANSWERS, TIMEOUT, read_docx

TEMPLATES = load_templates()
HP = TEMPLATES["handlingsplan"]
SAVED = re.compile(r"Dokumentet är sparat: (?P<path>[^\n]+\.docx)\n")

PARAGRAPH_1 = (
    "Närvarostatistiken för ht-25 visar att 14 % av eleverna i åk 7 har mer än 10 % frånvaro, "
    "främst på måndagar och under idrottslektionerna."
)
PARAGRAPH_2 = (
    "Mentorerna beskriver att ströfrånvaron ofta inte följs upp förrän den blivit omfattande, "
    "och vårdnadshavare får besked först efter flera veckor."
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def teacher(store: MemoryStore, clock: Clock) -> Teacher:
    return Teacher(
        Conversation(store, {"handlingsplan": HP}, render_document, clock=clock, burst_seconds=3)
    )


@pytest.fixture
def planner(store: MemoryStore, clock: Clock) -> Teacher:
    """A teacher with every template: the åtgärdsplan has optional and nested questions."""
    return Teacher(Conversation(store, TEMPLATES, render_document, clock=clock))


def the_plan(store: MemoryStore) -> PlanRecord:
    [(_, plan)] = list(store.plans.values())
    return plan


def answer(store: MemoryStore, path: str) -> AnswerValue | None:
    return the_plan(store).answers.get(path)


async def answer_until(teacher: Teacher, question_id: str, clock: Clock) -> None:
    """Start a handlingsplan and answer every question before `question_id`, a minute each
    (as a teacher who reads each question: no answer is in a burst after the one before)."""
    await teacher.start()
    for qid, text in ANSWERS.items():
        if qid == question_id:
            break
        await teacher.say(text)
        clock.advance(minutes=1)
    assert teacher.question.heading == HP.question(question_id).label


def button_labels(out: Outbound) -> list[str]:
    return [c.label for c in out.choices]


# --------------------------------------------------------------------------- 1. bursts


async def test_two_paragraphs_sent_a_second_apart_are_one_answer(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "nulagesanalys", clock)
    await teacher.say(PARAGRAPH_1)
    clock.advance(seconds=1)
    await teacher.say(PARAGRAPH_2)
    stored = answer(store, "nulagesanalys")
    assert stored is not None and stored.text == PARAGRAPH_1 + "\n\n" + PARAGRAPH_2
    assert answer(store, "mal") is None
    assert teacher.question.heading == "Mål"


async def test_an_answer_after_a_button_in_between_is_not_glued_to_the_long_answer(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    """Seen in Telegram: the second paragraph held a personnummer, so it went to Mål with the
    warning; "Skriv om" was pressed and the rewritten Mål came within the burst window of
    the nulägesanalys. It answers Mål: the button in between ended the burst."""
    await answer_until(teacher, "nulagesanalys", clock)
    await teacher.say(PARAGRAPH_1)
    clock.advance(seconds=1)
    await teacher.say("Eleven 811218–9876 har mest frånvaro.")
    assert "personnummer" in teacher.text()
    clock.advance(seconds=0.5)
    await teacher.press("Skriv om")
    clock.advance(seconds=0.5)
    await teacher.say(ANSWERS["mal"])
    assert answer(store, "nulagesanalys") == AnswerValue(text=PARAGRAPH_1)
    stored = answer(store, "mal")
    assert stored is not None and stored.text == ANSWERS["mal"]


async def test_a_message_after_the_teacher_had_time_to_read_answers_the_next_question(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    # Guard for phase 2: a burst is seconds, not minutes.
    await answer_until(teacher, "nulagesanalys", clock)
    await teacher.say(PARAGRAPH_1)
    clock.advance(minutes=2)
    await teacher.say(ANSWERS["mal"])
    assert answer(store, "nulagesanalys") == AnswerValue(text=PARAGRAPH_1)
    stored = answer(store, "mal")
    assert stored is not None and stored.text == ANSWERS["mal"]


async def test_the_teacher_can_add_to_the_previous_long_answer_later(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "nulagesanalys", clock)
    await teacher.say(PARAGRAPH_1)
    clock.advance(minutes=3)
    assert "Lägg till i förra svaret" in button_labels(teacher.question)
    await teacher.press("Lägg till i förra svaret", [teacher.question])
    await teacher.say(PARAGRAPH_2)
    stored = answer(store, "nulagesanalys")
    assert stored is not None and stored.text == PARAGRAPH_1 + "\n\n" + PARAGRAPH_2
    assert answer(store, "mal") is None
    assert teacher.question.heading == "Mål"


async def test_a_third_paragraph_in_the_burst_is_added_too(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "nulagesanalys", clock)
    third = "Vi vet för lite om varför eleverna stannar hemma just på måndagar."
    for text in (PARAGRAPH_1, PARAGRAPH_2, third):
        await teacher.say(text)
        clock.advance(seconds=1.5)
    stored = answer(store, "nulagesanalys")
    assert stored is not None
    assert stored.text == "\n\n".join([PARAGRAPH_1, PARAGRAPH_2, third])
    assert "lade till det i svaret på ”Nulägesanalys”" in teacher.text()
    assert teacher.question.heading == "Mål" and answer(store, "mal") is None


async def test_a_burst_wrongly_glued_is_taken_back_as_the_answer_to_this_question(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "nulagesanalys", clock)
    await teacher.say(PARAGRAPH_1)
    clock.advance(seconds=2)
    await teacher.say(ANSWERS["mal"])  # fast, but it was meant for Mål
    await teacher.press("Det var svaret på ”Mål”", [teacher.question])
    assert answer(store, "nulagesanalys") == AnswerValue(text=PARAGRAPH_1)
    stored = answer(store, "mal")
    assert stored is not None and stored.text == ANSWERS["mal"]
    assert teacher.question.heading == HP.question("aktivitet").label


async def test_a_quick_answer_after_a_short_question_is_never_glued(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await teacher.start()
    await teacher.say(ANSWERS["titel"])
    clock.advance(seconds=1)
    await teacher.say(ANSWERS["enhet"])  # a name after a name: two answers
    assert answer(store, "titel") == AnswerValue(text=ANSWERS["titel"])
    assert answer(store, "enhet") == AnswerValue(text=ANSWERS["enhet"])


async def test_a_quick_valid_date_after_a_long_answer_answers_the_date_question(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "resurser", clock)
    await teacher.say(ANSWERS["resurser"])
    clock.advance(seconds=1)
    await teacher.say("ht-26 – vt-27")  # the next question is Detaljerad tidplan
    assert answer(store, "resurser") == AnswerValue(text=ANSWERS["resurser"])
    stored = answer(store, "tidplan")
    assert stored is not None and stored.start == dt.date(2026, 8, 1)
    assert "ht-26 – vt-27 → 1 augusti 2026 – 30 juni 2027" in teacher.text()


async def test_the_add_command_adds_to_the_previous_long_answer(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "nulagesanalys", clock)
    await teacher.say(PARAGRAPH_1)
    clock.advance(hours=1)
    await teacher.say("/laggtill")
    assert "Nulägesanalys" in (teacher.question.heading or "")
    await teacher.say(PARAGRAPH_2)
    stored = answer(store, "nulagesanalys")
    assert stored is not None and stored.text == PARAGRAPH_1 + "\n\n" + PARAGRAPH_2
    assert teacher.question.heading == "Mål"


async def test_the_long_question_says_what_the_bot_does_with_paragraphs(
    teacher: Teacher, clock: Clock
) -> None:
    await answer_until(teacher, "nulagesanalys", clock)
    note = teacher.question.note or ""
    assert "inom några sekunder" in note and "Lägg till i förra svaret" in note
    assert "flera meddelanden" not in note


# --------------------------------------------------------------------------- 2. typed buttons


async def reach_plan_for_insatser(planner: Teacher) -> None:
    """The åtgärdsplan up to its optional "Plan för insatser", shown with [n] Hoppa över."""
    await start_plan(planner, "Åtgärdsplan")
    steps = hoor_conversation()
    end = next(i for i, s in enumerate(steps) if s[0].startswith("Plan för insatser"))
    await play(planner, steps[:end])
    assert planner.question.heading == "Plan för insatser inom ramen för utvecklingsområdet"


async def test_typing_the_number_shown_beside_skip_skips_the_question(
    planner: Teacher, store: MemoryStore
) -> None:
    await reach_plan_for_insatser(planner)
    number = button_labels(planner.question).index("Hoppa över") + 1
    await planner.say(str(number))
    stored = answer(store, "plan")
    assert stored is not None and stored.skipped and stored.text == ""
    assert planner.question.heading == "Deltagare i insatsen"


async def test_typing_the_label_of_skip_skips_the_question(
    planner: Teacher, store: MemoryStore
) -> None:
    await reach_plan_for_insatser(planner)
    await planner.say("Hoppa över")
    stored = answer(store, "plan")
    assert stored is not None and stored.skipped
    assert planner.question.heading == "Deltagare i insatsen"


async def test_typing_the_number_of_keep_under_andra_keeps_the_cost_estimate(
    planner: Teacher, store: MemoryStore
) -> None:
    await start_plan(planner, "Åtgärdsplan")
    await play(planner, hoor_conversation())
    before = answer(store, "kostnader")
    assert before is not None and before.text
    await planner.say("/andra Kostnadsberäkning")
    assert planner.question.heading == "Kostnadsberäkning"
    labels = button_labels(planner.question)
    await planner.say(str(labels.index("Behåll svaret") + 1))
    assert answer(store, "kostnader") == before


async def test_typing_one_at_a_date_question_with_buttons_presses_the_button(
    planner: Teacher, store: MemoryStore
) -> None:
    await start_plan(planner, "Åtgärdsplan")
    await planner.say("Huvudman Höör")
    assert planner.question.heading == "Datum"
    assert button_labels(planner.question)[0] == "Hoppa över"
    await planner.say("1")
    assert "Jag förstod inte datumet" not in planner.text()
    stored = answer(store, "datum")
    assert stored is not None and stored.skipped


def with_count_question() -> dict[str, Template]:
    """The handlingsplan with an optional count question ("Antal elever") after Skola/enhet."""
    raw = HP.model_dump(mode="json", exclude_none=True)
    items = raw["steps"][0]["items"]
    enhet = next(i for i, item in enumerate(items) if item.get("id") == "enhet")
    items.insert(
        enhet + 1,
        {
            "id": "antal",
            "label": "Antal elever",
            "prompt": "Hur många elever gäller insatsen?",
            "type": "count",
            "required": False,
        },
    )
    return {"handlingsplan": Template.model_validate(raw)}


async def test_a_number_at_a_count_question_that_is_also_a_button_asks_which(
    store: MemoryStore, clock: Clock
) -> None:
    teacher = Teacher(Conversation(store, with_count_question(), render_document, clock=clock))
    await teacher.start()
    for key in ("titel", "enhet"):
        await teacher.say(ANSWERS[key])
    assert teacher.question.heading == "Antal elever"
    assert button_labels(teacher.question) == ["Hoppa över"]
    await teacher.say("1")
    assert "Menade du antalet 1 eller [1] Hoppa över?" in teacher.text()
    assert answer(store, "antal") is None
    await teacher.press("Antalet 1", [teacher.question])
    stored = answer(store, "antal")
    assert stored is not None and stored.number == 1
    await teacher.say("/tillbaka")
    await teacher.say("25")  # not a button's number: the count at once
    stored = answer(store, "antal")
    assert stored is not None and stored.number == 25


async def test_typed_yes_and_no_labels_answer_a_more_question(planner: Teacher) -> None:
    await start_plan(planner, "Åtgärdsplan")
    await play(planner, hoor_conversation()[:3])
    await planner.say("1")  # [1] Styrning och utveckling av verksamheten
    assert planner.question.heading == "Område 1 › Insats 1 › Namn"
    await quick_insats(planner, "Ledningsteam")
    await planner.say("Nej")  # another insats? – typed label
    assert planner.question.heading == "Lägga till ett utvecklingsområde till?"
    await planner.say("2")  # [2] Nej
    assert planner.question.heading == "Plan för insatser inom ramen för utvecklingsområdet"


# --------------------------------------------------------------------------- 3. menus by name


async def open_edit_menu(teacher: Teacher, clock: Clock) -> None:
    await answer_until(teacher, "aktivitet", clock)
    await teacher.say("/andra")
    assert teacher.question.heading == "Vilket svar vill du ändra?"


async def test_typing_a_label_in_the_andra_list_picks_that_answer(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    await open_edit_menu(teacher, clock)
    await teacher.say("Mål")  # an exact label wins over the prefix of "Målgrupp"
    assert teacher.question.heading == "Mål"
    await teacher.say("Andelen elever med hög frånvaro ska halveras till vt-27.")
    stored = answer(store, "mal")
    assert stored is not None and stored.text.startswith("Andelen elever med hög frånvaro")
    assert answer(store, "aktivitet") is None
    assert teacher.question.heading == HP.question("aktivitet").label


async def test_a_prefix_of_a_label_in_the_andra_list_picks_it(
    teacher: Teacher, clock: Clock
) -> None:
    await open_edit_menu(teacher, clock)
    await teacher.say("nuläge")
    assert teacher.question.heading == "Nulägesanalys"


async def test_anything_else_in_the_andra_list_shows_the_list_again(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    await open_edit_menu(teacher, clock)
    await teacher.say("Xyz")
    assert "välj ett av alternativen" in teacher.text().casefold()
    assert teacher.question.heading == "Vilket svar vill du ändra?"
    assert answer(store, "aktivitet") is None


async def test_a_mistyped_command_gets_did_you_mean_and_the_question_again(
    teacher: Teacher,
    clock: Clock,
) -> None:
    await answer_until(teacher, "mal", clock)
    await teacher.say("/oversigt")
    assert "Menade du /oversikt?" in teacher.text()
    assert "/exportera –" not in teacher.text()  # not the whole command list
    assert teacher.question.heading == "Mål"
    await teacher.say("/exporter")
    assert "Menade du /exportera?" in teacher.text()


async def test_a_plan_kind_and_a_plan_are_picked_by_name(
    planner: Teacher, store: MemoryStore
) -> None:
    await planner.start()
    assert planner.question.heading == "Vilken sorts plan vill du skriva?"
    await planner.say("åtgärd")  # the start of one label
    assert planner.question.heading == "Huvudman och enhet"
    await planner.say("Huvudman Höör")
    await planner.say("/ny")
    await planner.say("Handlingsplan")
    assert planner.question.heading == HP.question("titel").label
    await planner.say("/planer")
    await planner.say("Huvudman Höör")  # its title, without the number shown before it
    assert "Nu arbetar vi med ”Huvudman Höör”" in planner.text()
    assert planner.question.heading == "Datum"


# --------------------------------------------------------------------------- 4. questions


async def test_a_removal_is_picked_by_name(planner: Teacher, store: MemoryStore) -> None:
    await two_areas(planner)
    await planner.say("/tabort")
    assert planner.question.heading == "Vad vill du ta bort?"
    await planner.say("Områd")  # more than one starts so: the list again
    assert "välj ett av alternativen" in planner.text().casefold()
    await planner.say("Område 2 › Insats 2")
    assert planner.question.heading == "Ta bort?" and "Insats B" in planner.question.text
    await planner.say("ja")
    assert "är borttagen" in planner.text()


async def test_a_question_about_the_question_gets_help_not_stored(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    await answer_until(teacher, "nulagesanalys", clock)
    await teacher.say("Vad menas med nulägesanalys här, hela skolan eller bara åk 7?")
    assert answer(store, "nulagesanalys") is None
    assert HP.question("nulagesanalys").help or ""  # the help exists to be shown
    assert (HP.question("nulagesanalys").help or "") in teacher.text()
    assert any("svar" in label.casefold() for label in button_labels(teacher.question))
    assert teacher.question.heading == "Nulägesanalys"


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("Vad menas med nulägesanalys här?", True),
        ("Vad ska jag skriva här?", True),
        ("Kan du ge ett exempel?", True),
        ("Vilken nulägesanalys menar ni, skolans eller klassens?", True),
        ("Hur kan vi nå eleverna som är borta på måndagar?", False),
        ("Varför är frånvaron högst på måndagar?", False),
        ("Frånvaron är hög – vad gör vi?", False),
    ],
)
def test_what_reads_as_a_question_to_the_bot(text: str, asks: bool) -> None:
    assert asked.reads_as_question(text, "Nulägesanalys") is asks


async def test_a_real_answer_with_a_question_mark_is_stored_at_once(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    # Guard for phase 2: a long answer that ends in a question is an answer.
    await answer_until(teacher, "nulagesanalys", clock)
    text = PARAGRAPH_1 + " Hur kan vi nå eleverna som är borta på måndagar?"
    await teacher.say(text)
    stored = answer(store, "nulagesanalys")
    assert stored is not None and stored.text == text


async def test_a_question_to_the_bot_can_be_kept_as_the_answer(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "mal", clock)
    question = "Vilka mål menar ni, för eleverna eller för skolan?"
    await teacher.say(question)
    assert answer(store, "mal") is None
    await teacher.press("Spara frågan som svar", [teacher.question])
    stored = answer(store, "mal")
    assert stored is not None and stored.text == question


async def test_after_the_help_the_next_text_is_the_answer(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "mal", clock)
    await teacher.say("Vad menas med mål här?")
    await teacher.say(ANSWERS["mal"])
    stored = answer(store, "mal")
    assert stored is not None and stored.text == ANSWERS["mal"]
    assert teacher.question.heading == HP.question("aktivitet").label


# --------------------------------------------------------------------------- 5. dates


async def test_a_week_is_read_back_as_the_days_it_means(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    await answer_until(teacher, "nar_uppfoljning", clock)
    await teacher.say("v. 12 2027")
    stored = answer(store, "nar_uppfoljning")
    assert stored is not None and stored.start == dt.date(2027, 3, 22)
    assert "22–28 mars 2027" in teacher.text()


async def test_a_follow_up_date_in_the_past_gets_a_question(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    await answer_until(teacher, "nar_uppfoljning", clock)  # today is 23 Nov 2026
    await teacher.say("20 maj 2025")
    assert teacher.question.heading == HP.question("nar_uppfoljning").label
    assert "20 maj 2025" in teacher.text() and "passerat" in teacher.text()
    assert the_plan(store).status.value == "pagar"


async def test_a_period_that_ends_before_it_starts_gets_a_question(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    await answer_until(teacher, "tidplan", clock)
    await teacher.say("vt-27 – ht-26")
    assert answer(store, "tidplan") is None
    assert teacher.question.heading == HP.question("tidplan").label


async def test_the_teacher_reviews_the_plan_before_it_becomes_planerad(
    teacher: Teacher, clock: Clock, store: MemoryStore
) -> None:
    await answer_until(teacher, "vem_uppfoljning", clock)
    await teacher.say(ANSWERS["vem_uppfoljning"])
    assert the_plan(store).status.value == "pagar"
    review = teacher.text()
    assert ANSWERS["titel"] in review and ANSWERS["mal"][:40] in review
    assert "Ändra" in " ".join(button_labels(teacher.question))
    await teacher.press("Ja", [teacher.question])
    assert the_plan(store).status.value == "planerad"


async def test_changing_an_answer_from_the_review_comes_back_to_the_review(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "vem_uppfoljning", clock)
    await teacher.say(ANSWERS["vem_uppfoljning"])
    await teacher.press("Ändra ett svar", [teacher.question])
    assert teacher.question.heading == "Vilket svar vill du ändra?"
    await teacher.say("Målgrupp")
    await teacher.say("Alla elever i åk 7 och 8.")
    assert teacher.question.heading == "Stämmer planen?"
    assert "Alla elever i åk 7 och 8." in teacher.text()
    assert the_plan(store).status.value == "pagar"
    await teacher.say("ja")
    assert the_plan(store).status.value == "planerad"
    assert teacher.documents()


async def test_going_on_to_the_follow_up_from_the_review_is_its_yes(
    teacher: Teacher, store: MemoryStore, clock: Clock
) -> None:
    await answer_until(teacher, "vem_uppfoljning", clock)
    await teacher.say(ANSWERS["vem_uppfoljning"])
    assert teacher.question.heading == "Stämmer planen?"
    await teacher.say("/uppfoljning")
    assert the_plan(store).status.value == "planerad"
    assert teacher.documents(), "the planned plan's document"
    assert teacher.question.heading == "Resultat"


# --------------------------------------------------------------------------- 8. progress


async def test_progress_in_nested_parts_names_the_part_and_counts_within_it(
    planner: Teacher,
) -> None:
    await start_plan(planner, "Åtgärdsplan")
    await play(planner, hoor_conversation()[:3])
    await planner.press("Styrning och utveckling av verksamheten", [planner.question])
    await quick_insats(planner, "Ledningsteam")
    await planner.press("Nej", [planner.question])
    await planner.press("Ja", [planner.question])  # another område
    await planner.press("Trygghet och studiero", [planner.question])
    await planner.say("Studiero i klassrummet")  # Insats 1: Namn
    progress = planner.question.progress or ""
    assert re.search(r"Område 2 · Insats 1 · fråga 2 av \d+", progress), progress


async def test_the_plan_total_does_not_jump_when_an_insats_is_added(planner: Teacher) -> None:
    await start_plan(planner, "Åtgärdsplan")
    await play(planner, hoor_conversation()[:3])
    await planner.press("Styrning och utveckling av verksamheten", [planner.question])
    totals = []
    for name in ("Ledningsteam", "Handledning"):
        await quick_insats(planner, name)
        totals.append(planner.question.progress)
        await planner.press("Ja", [planner.question])
    # Whatever the share of the whole plan shows, the count within the insats stays put.
    within = [re.search(r"fråga \d+ av (\d+)", p or "") for p in totals]
    assert all(m is not None for m in within), totals
    assert len({m[1] for m in within if m is not None}) == 1, totals


async def test_a_question_asked_once_for_the_whole_plan_says_so(planner: Teacher) -> None:
    await start_plan(planner, "Åtgärdsplan")
    steps = hoor_conversation()
    end = next(i for i, s in enumerate(steps) if s[0] == "Styrkor att använda i kommande insatser")
    await play(planner, steps[:end])
    shown = " ".join(filter(None, [planner.question.progress, planner.question.text]))
    assert "för hela planen" in shown


async def test_a_question_outside_the_parts_counts_only_those_questions(
    planner: Teacher,
) -> None:
    await reach_plan_for_insatser(planner)  # after two insatser
    progress = planner.question.progress or ""
    outside = [
        item
        for step in TEMPLATES["atgardsplan"].steps
        for item in step.items
        if isinstance(item, Question) and item.phase is Phase.PLANNING
    ]
    found = re.search(r"fråga (\d+) av (\d+)", progress)
    assert found is not None and int(found[2]) == len(outside), progress
    assert re.search(r"· \d+ % av planen besvarad$", progress), progress


# --------------------------------------------------------------------------- the terminal


CHAT = [sys.executable, "-m", "bot.cli", "chat"]


def chat_piped(home: Path, lines: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "XDG_"))}
    env.update(HOME=str(home), PLANBOT_PROMPTS_DIR=str(handlingsplan_only()))
    result = subprocess.run(
        [*CHAT, "--db", str(home / "p.db"), "--out", str(home / "out"), "--user", "larare"],
        input="\n".join(lines).encode() + b"\n",
        capture_output=True,
        cwd=home,
        env=env,
        timeout=TIMEOUT * 2,
        check=True,
    )
    return result.stdout.decode()


def test_console_typed_button_number_at_keep_keeps_the_answer(tmp_path: Path) -> None:
    first = [ANSWERS[q] for q in ("titel", "enhet", "forfattare", "nulagesanalys")]
    # /tillbaka shows Nulägesanalys with "[1] Behåll svaret"; typing 1 keeps it.
    out = chat_piped(tmp_path, [*first, "/tillbaka", "1", "/exportera"])
    assert "[1] Behåll svaret" in out
    assert "Svaret är 1 tecken" not in out
    after_keep = out[out.index("[1] Behåll svaret") :]
    assert re.search(r"fråga 5 av \d+ ──\nMÅL\n", after_keep), after_keep
    document = read_docx(Path(SAVED.findall(out)[-1]))
    assert document.under["Nulägesanalys"] == ANSWERS["nulagesanalys"]


def test_console_label_typed_in_the_andra_list_edits_that_answer(tmp_path: Path) -> None:
    first = [ANSWERS[q] for q in ("titel", "enhet", "forfattare", "nulagesanalys", "mal")]
    new_goal = "Andelen elever med hög frånvaro ska halveras till vt-27."
    out = chat_piped(
        tmp_path, [*first, "/andra", "Mål", new_goal, ANSWERS["aktivitet"], "/exportera"]
    )
    document = read_docx(Path(SAVED.findall(out)[-1]))
    assert document.under["Mål"] == new_goal
    assert document.under[HP.question("aktivitet").label] == ANSWERS["aktivitet"]


def test_console_replay_as_a_teacher_types_puts_every_answer_under_its_question(
    tmp_path: Path,
) -> None:
    """`planbot chat` with lines piped in as a teacher types them: a paragraph added with
    "Lägg till i förra svaret", a question to the bot, /andra with a label and a typed
    button number, a personnummer with an en dash rephrased, a mistyped command, the review
    confirmed by its number. The .docx has every answer under its own question."""
    flagged = "Mentorn ringer eleven 811218–9876 varje morgon."
    lines = [
        *(ANSWERS[q] for q in ("titel", "enhet", "forfattare")),
        PARAGRAPH_1,
        "Lägg till i förra svaret",
        PARAGRAPH_2,
        "Vad menas med mål här?",
        ANSWERS["mal"],
        ANSWERS["aktivitet"],
        "/andra",
        "Mål",
        "1",  # [1] Behåll svaret: back to Målgrupp
        ANSWERS["malgrupp"],
        flagged,
        "Skriv om",
        ANSWERS["genomforande"],
        *(ANSWERS[q] for q in ("nar_hur_ofta", "resurser", "tidplan", "datainsamling")),
        "/exporter",
        ANSWERS["nar_uppfoljning"],
        ANSWERS["vem_uppfoljning"],
        "1",  # [1] Ja, det stämmer – planen är planerad
    ]
    out = chat_piped(tmp_path, lines)
    assert "Tillagt i svaret på ”Nulägesanalys”" in out
    assert "HJÄLP: MÅL" in out
    assert "Undvik personuppgifter" in out
    assert "Menade du /exportera?" in out
    assert "Sparat – Detaljerad tidplan: ht-26 – vt-27 → 1 augusti 2026 – 30 juni 2027." in out
    assert "Planeringsdelen av ”Tidig uppföljning av frånvaro i åk 7” är klar" in out
    document = read_docx(Path(SAVED.findall(out)[-1]))
    assert not document.marked_draft
    assert document.under["Nulägesanalys"] == PARAGRAPH_1 + "\n" + PARAGRAPH_2
    for key in ("mal", "aktivitet", "malgrupp", "genomforande", "nar_hur_ofta", "resurser"):
        assert document.under[HP.question(key).label] == ANSWERS[key], key
    assert "811218" not in out.split("Skriv om")[-1]
    assert all("811218" not in text for text in document.under.values())


# --------------------------------------------------------------------------- 7. Skriv om


async def test_after_skriv_om_the_flagged_text_is_kept_nowhere(tmp_path: Path) -> None:
    """The real SQLite store: after "Skriv om", no table holds the personnummer, and the
    plan's answer history has only the rephrased text."""
    db = tmp_path / "planbot.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db}", _env_file=None)  # type: ignore[call-arg]
    runtime = await start_runtime(settings)
    try:
        teacher = Teacher(runtime.conversation)
        await teacher.start()
        if teacher.question.heading == "Vilken sorts plan vill du skriva?":
            await teacher.press("Handlingsplan", [teacher.question])
        for key in ("titel", "enhet", "forfattare"):
            await teacher.say(ANSWERS[key])
        flagged = "Eleven 811218–9876 har hög frånvaro, främst på måndagar och efter lov."
        await teacher.say(flagged)
        assert "Undvik personuppgifter" in teacher.text()
        await teacher.press("Skriv om", [teacher.question])
        await teacher.say(ANSWERS["nulagesanalys"])
        assert teacher.question.heading == "Mål"
    finally:
        await runtime.close()
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                # (not "9876" alone: a stored timestamp may hold those digits)
                assert "811218" not in repr(row), (table, row)
