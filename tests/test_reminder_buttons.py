"""The reminder's buttons and /paminnelser through the engine, the store and the hook, with an
injected clock: "Fyll i uppföljningen nu" opens that plan's follow-up while another plan is
active, "Påminn mig om en vecka" moves the row a week, "Stäng av" stops the plan's reminders,
and the teacher's word survives the turns after it (the typed plan state keeps it)."""

from __future__ import annotations

import datetime as dt

from bot.app import Runtime
from dialogs import buttons
from dialogs.reminders import ReminderAction, button_value
from dialogs.state import PlanState
from dialogs.types import InboundKind, Outbound
from storage.reminders import OFF, PENDING, SENT
from tests import test_reminders
from tests.helpers import Clock, Teacher
from tests.test_console_e2e import ANSWERS
from tests.test_reminders import Outbox, local, plan_id, plan_with_followup, reminders_of
from tests.test_storage import postgres_database  # noqa: F401

# The app on SQLite and on PostgreSQL, with the injected clock.
database_url = test_reminders.database_url
runtime = test_reminders.runtime

MONDAY = local(2027, 3, 22, 9, 0)
TITLE = ANSWERS["titel"]
OTHER = "Läslyftet i åk 4"


def test_the_teachers_wishes_round_trip_through_the_typed_plan_state() -> None:
    stored = {
        "phase": "planning",
        "cursor": "titel",
        "reminders": {"off": True, "snoozed": {"followup:nar_uppfoljning": "2027-03-30T06:00:00Z"}},
    }
    state = PlanState.load(stored)
    assert state.reminders is not None and state.reminders.off is True
    assert state.reminders.snoozed == {
        "followup:nar_uppfoljning": dt.datetime(2027, 3, 30, 6, 0, tzinfo=dt.UTC)
    }
    assert PlanState.load(state.dump()).dump() == state.dump()
    assert state.dump()["reminders"]["off"] is True


async def press(teacher: Teacher, value: str) -> list[Outbound]:
    return await teacher.send(teacher.inbound(InboundKind.CHOICE, choice=value))


async def the_reminder(runtime: Runtime, at: dt.datetime = MONDAY) -> Outbound:
    outbox = Outbox()
    report = await reminders_of(runtime).run_pass(at, {"test": outbox})
    assert [r.kind for r in report.sent] == ["followup"], report
    ((_, out),) = outbox.sent
    return out


def value_of(out: Outbound, label: str) -> str:
    (value,) = [c.value for c in out.choices if c.label == label]
    return value


async def stored_state(runtime: Runtime, teacher: Teacher, pid: str) -> dict[str, object]:
    return (await runtime.database.store.load(teacher.user, "")).plans[pid].state


async def test_the_follow_up_date_is_told_back_as_the_monday_it_reminds_on(
    runtime: Runtime,
) -> None:
    teacher = await plan_with_followup(runtime)
    said = teacher.text()
    assert "Uppföljningen är satt till v. 12 2027 → 22–28 mars 2027." in said
    assert "Jag påminner dig här måndag 22 mars 2027" in said
    assert "28 mars 2027;" not in said
    pid = await plan_id(runtime, teacher)
    assert (await stored_state(runtime, teacher, pid))["followup_date"] == "2027-03-22"


async def test_fyll_i_opens_that_plans_follow_up_while_another_plan_keeps_its_place(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = await plan_with_followup(runtime)
    reminder = await the_reminder(runtime)
    # Meanwhile the teacher began another plan and is on its third question.
    await teacher.say("/ny")
    await teacher.say(OTHER)
    await teacher.say(ANSWERS["enhet"])
    third = teacher.question.heading
    clock.now = MONDAY + dt.timedelta(days=2)  # pressed two days after it came

    await press(teacher, value_of(reminder, "Fyll i uppföljningen nu"))
    said = teacher.text()
    assert f"”{OTHER}” väntar där du var" in said and "/planer" in said
    assert f"Nu följer vi upp ”{TITLE}”" in said
    assert "Resultat" in (teacher.question.heading or "") + teacher.question.text

    await teacher.say("/planer")
    await teacher.press("1.")  # the most recently changed plan first: the follow-up
    await teacher.say("/planer")
    await teacher.press("2.")
    assert teacher.question.heading == third  # the other plan is where it was


async def test_a_personnummer_held_in_another_plan_is_let_go_when_a_reminder_opens(
    runtime: Runtime, clock: Clock
) -> None:
    """The warning was open in the other plan when the teacher pressed the reminder: as when
    any other plan is opened, the flagged text does not wait in the plan left."""
    teacher = await plan_with_followup(runtime)
    reminder = await the_reminder(runtime)
    await teacher.say("/ny")
    await teacher.say(OTHER)
    await teacher.say("Elev 811218–9876 på Ringsjöskolan")
    assert "personnummer" in teacher.text()
    snapshot = await runtime.database.store.load(teacher.user, "")
    (other,) = [pid for pid, p in snapshot.plans.items() if p.title == OTHER]
    clock.now = MONDAY
    await press(teacher, value_of(reminder, "Fyll i uppföljningen nu"))
    assert f"Nu följer vi upp ”{TITLE}”" in teacher.text()
    assert "811218" not in str(await stored_state(runtime, teacher, other))


async def test_a_finished_follow_up_says_so_and_an_unfinished_plan_goes_on(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = await plan_with_followup(runtime)
    reminder = await the_reminder(runtime)
    now = value_of(reminder, "Fyll i uppföljningen nu")
    clock.now = MONDAY
    await press(teacher, now)
    followup = ("Frånvaron sjönk till 9 %.", "Samma-dag-kontakten höll.", "Mer stöd på måndagar.")
    for text in followup:
        await teacher.say(text)
    await teacher.say("ja")  # the review: the follow-up is as the teacher wrote it
    assert "klar" in teacher.text()
    await press(teacher, now)
    assert f"Uppföljningen av ”{TITLE}” är redan gjord" in teacher.text()

    # A nudge of a half-finished plan: its "Fortsätt" continues at the cursor.
    half = Teacher(runtime.conversation, user=teacher.user.model_copy(update={"external_id": "b"}))
    await half.start()
    await half.say(OTHER)
    pid = await plan_id(runtime, half)
    await press(half, buttons.reminder(buttons.REMIND_NOW, pid, 1))
    assert "Nu arbetar vi med" in half.text()
    assert half.question.heading == "Skola/enhet"


async def test_pamin_mig_om_en_vecka_moves_the_row_and_nothing_comes_before(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = await plan_with_followup(runtime)
    pid = await plan_id(runtime, teacher)
    reminder = await the_reminder(runtime)
    reminders = reminders_of(runtime)
    clock.now = local(2027, 3, 22, 15, 30)
    await press(teacher, value_of(reminder, "Påminn mig om en vecka"))
    # A week on is Monday 29 March, annandag påsk: Tuesday at eight.
    assert f"Jag påminner dig om ”{TITLE}” igen tisdag 30 mars 2027" in teacher.text()
    (row,) = [r for r in await reminders.store.of_plan(pid) if r.kind == "followup"]
    assert (row.state, row.next_try_at) == (PENDING, local(2027, 3, 30, 8, 0))

    # Other turns touch the plan and dump its state again: the snooze stays.
    await teacher.say("/ny")
    await teacher.say(OTHER)
    await teacher.say("/planer")
    await teacher.press("2.")
    snoozed = (await stored_state(runtime, teacher, pid))["reminders"]
    assert snoozed["snoozed"]["followup:nar_uppfoljning"] == "2027-03-30T06:00:00Z"  # type: ignore[index]

    outbox = Outbox()
    report = await reminders.run_pass(local(2027, 3, 29, 12, 0), {"test": outbox})
    assert [r for r in report.sent if r.plan_id == pid] == []
    report = await reminders.run_pass(local(2027, 3, 30, 8, 0), {"test": outbox})
    (again,) = [r for r in report.sent if r.plan_id == pid]
    assert (again.id, again.kind) == (row.id, "followup")
    assert (await reminders.store.get(row.id)).state == SENT  # type: ignore[union-attr]


async def test_stang_av_stops_the_plans_reminders_and_paminnelser_turns_them_on(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = await plan_with_followup(runtime)
    pid = await plan_id(runtime, teacher)
    reminder = await the_reminder(runtime)
    reminders = reminders_of(runtime)
    clock.now = MONDAY
    await press(teacher, value_of(reminder, "Stäng av påminnelser för planen"))
    said = teacher.text()
    assert f"Påminnelserna för ”{TITLE}” är avstängda" in said and "/paminnelser" in said
    assert {r.state for r in await reminders.store.of_plan(pid)} == {OFF}

    await teacher.say("/andra")  # more turns on the plan: still off
    await teacher.press("13.")
    await teacher.say("v. 14 2027")
    assert {r.state for r in await reminders.store.of_plan(pid)} == {OFF}
    wishes = (await stored_state(runtime, teacher, pid))["reminders"]
    assert wishes["off"] is True  # type: ignore[index]
    assert (await reminders.run_pass(local(2027, 12, 1, 9, 0), {"test": Outbox()})).sent == []
    assert "Jag påminner" not in teacher.text()

    await teacher.say("påminnelser")
    listing = teacher.last[-1]
    assert listing.heading == "Påminnelser"
    assert f"”{TITLE}” – avstängda" in listing.text
    assert [c.label for c in listing.choices] == [f"Slå på: {TITLE}"]
    await press(teacher, listing.choices[0].value)
    assert f"Påminnelserna för ”{TITLE}” är på igen" in teacher.text()
    assert OFF not in {r.state for r in await reminders.store.of_plan(pid)}
    assert "avstängda" not in teacher.last[-1].text


async def test_paminnelser_lists_the_date_and_what_for_each_plan(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = await plan_with_followup(runtime)
    await teacher.say("/ny")
    await teacher.say(OTHER)
    for word in ("/paminnelser", "paminnelser", "Påminnelser"):
        await teacher.say(word)
        listing = teacher.last[-1]
        assert listing.heading == "Påminnelser", word
    text = listing.text
    assert "måndag 22 mars 2027: uppföljning, Hur blev det? – v. 12 2027 → 22–28 mars 2027" in text
    assert "onsdag 30 juni 2027: tidplanen är slut" in text
    assert f"”{OTHER}”\n• måndag 30 november 2026: en påminnelse om att göra klart" in text
    assert len(listing.choices) == 2
    # The list changed nothing: the other plan still asks its next question.
    await teacher.say(ANSWERS["enhet"])
    assert teacher.question.heading == "Upprättad av"


async def test_a_deleted_plans_reminder_button_says_so_and_changes_nothing(
    runtime: Runtime,
) -> None:
    teacher = await plan_with_followup(runtime)
    reminder = await the_reminder(runtime)
    await teacher.say("/radera")
    await teacher.press("Radera den här planen")
    await teacher.press("Ja")
    for label in ("Fyll i uppföljningen nu", "Påminn mig om en vecka"):
        (out,) = await press(teacher, value_of(reminder, label))
        assert out.notice and "finns inte längre" in out.text


def test_reminder_values_are_one_grammar_with_the_engines_buttons() -> None:
    pid = "f" * 32
    value = button_value(ReminderAction.NOW, pid, 1234567890)
    assert len(value.encode()) <= 64
    assert buttons.parse(value) == buttons.ReminderPress("now", pid, 1234567890)
    assert buttons.parse(f"rem:on:{pid}") == buttons.ReminderPress("on", pid, None)
    for bad in ("rem:later:p:1", "rem:now::1", "rem:now:p:x", "rem:now"):
        assert isinstance(buttons.parse(bad), buttons.Unknown), bad


async def test_a_long_answer_being_collected_survives_pressing_the_reminder_again(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = await plan_with_followup(runtime)
    reminder = await the_reminder(runtime)
    now = value_of(reminder, "Fyll i uppföljningen nu")
    clock.now = MONDAY
    await press(teacher, now)
    long = "Frånvaron sjönk tydligt under våren. " * 100  # 3,700 characters: collected
    await teacher.say(long)
    assert "Jag har tagit emot" in teacher.text()
    await press(teacher, now)
    assert "Jag har tagit emot 3700 tecken" in teacher.text()  # still collecting
    await teacher.say("/klar")
    pid = await plan_id(runtime, teacher)
    answers = (await runtime.database.store.load(teacher.user, "")).plans[pid].answers
    assert answers["resultat"].text.startswith("Frånvaron sjönk tydligt")
    assert len(answers["resultat"].text) >= len(long.strip())


async def test_an_atgardsplans_reminder_opens_its_slutredovisning_once() -> None:
    from dialogs.service import Conversation
    from dialogs.store import MemoryStore
    from dialogs.template import load_templates
    from exports.docx import render_document
    from tests.test_atgardsplan import hoor_conversation, play, start

    store = MemoryStore()
    teacher = Teacher(Conversation(store, load_templates(), render_document, clock=Clock()))
    await start(teacher, "Åtgärdsplan")
    await play(teacher, hoor_conversation())
    ((pid, _),) = [(p, plan) for p, (_, plan) in store.plans.items()]
    now = buttons.reminder(buttons.REMIND_NOW, pid, 7)

    await press(teacher, now)
    assert "”Huvudman Höör” följs upp i en Slutredovisning" in teacher.text()
    assert teacher.question.heading == "Område 1 › Insats 1 › Deltagare"
    await teacher.say("Rektorerna och processledarna.")
    await press(teacher, now)  # again: the same report, where it was
    assert len(store.plans) == 2
    assert teacher.question.heading == "Område 1 › Insats 1 › Mål 1 › Måluppfyllelse"
