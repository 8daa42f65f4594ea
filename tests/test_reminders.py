"""Reminders with an injected clock: when they fall due (school hours, holidays, the first
school day of a week), and what the teacher's actions do to them — snooze, off, a changed
date, a deleted plan — through the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Runtime, start_runtime
from bot.reminders import Blocked, Reminders
from bot.settings import Settings
from dialogs.dates import parse_when, read_back
from dialogs.messages import Messages
from dialogs.reminders import (
    DueReminder,
    ReminderAction,
    ReminderKind,
    SchoolHours,
    button_value,
    derive,
    parse_button_value,
    reminder_outbound,
    snoozed_until,
)
from dialogs.template import PROMPTS_DIR, load_templates
from dialogs.types import AnswerValue, Outbound, PlanRecord, PlanStatus
from storage.reminders import OFF, PENDING, SENT, SNOOZED
from tests.channel_prompts import handlingsplan_only
from tests.helpers import Clock, Teacher
from tests.test_console_e2e import ANSWERS
from tests.test_storage import _empty_postgres, postgres_database  # noqa: F401

STOCKHOLM = SchoolHours().zone
TEMPLATES = load_templates(PROMPTS_DIR)
HP = TEMPLATES["handlingsplan"]
ATG = TEMPLATES["atgardsplan"]
MSG = Messages.load()
WRITTEN = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=STOCKHOLM).astimezone(dt.UTC)  # type: ignore[misc]


# --------------------------------------------------------------------------- dates


def test_a_week_keeps_its_whole_span_and_reads_back_as_days() -> None:
    period = parse_when("v. 12 2027", WRITTEN.date())
    assert period == (dt.date(2027, 3, 22), dt.date(2027, 3, 28))
    start, end = period  # still a pair for older callers
    assert read_back("v. 12 2027", start, end) == "v. 12 2027 → 22–28 mars 2027"
    assert read_back("15 mars 2026", dt.date(2026, 3, 15), dt.date(2026, 3, 15)) == "15 mars 2026"


# --------------------------------------------------------------------------- school hours


def test_the_first_school_day_of_week_12_2027_is_monday_not_easter_day() -> None:
    hours = SchoolHours()
    period = parse_when("v. 12 2027", WRITTEN.date())
    assert period is not None
    assert hours.first_school_day(period) == dt.date(2027, 3, 22)
    assert hours.opening(dt.date(2027, 3, 22)) == local(2027, 3, 22, 8, 0)


def test_a_date_on_good_friday_moves_to_the_tuesday_after_easter() -> None:
    hours = SchoolHours()
    # Långfredagen, påskafton, påskdagen, annandag påsk: no reminder until Tuesday 30 March.
    assert hours.opening(dt.date(2027, 3, 26)) == local(2027, 3, 30, 8, 0)
    assert not hours.is_school_day(dt.date(2027, 12, 24))  # julafton
    assert not hours.is_school_day(dt.date(2027, 6, 25))  # midsommarafton


def test_nights_and_weekends_wait_for_the_next_morning() -> None:
    hours = SchoolHours()
    assert hours.next_allowed(local(2027, 3, 23, 5, 30)) == local(2027, 3, 23, 8, 0)
    assert hours.next_allowed(local(2027, 3, 23, 10, 15)) == local(2027, 3, 23, 10, 15)
    assert hours.next_allowed(local(2027, 3, 23, 16, 0)) == local(2027, 3, 24, 8, 0)
    assert hours.next_allowed(local(2027, 3, 19, 22, 0)) == local(2027, 3, 22, 8, 0)  # Fri night


def test_the_window_can_be_changed() -> None:
    late = SchoolHours(opens=dt.time(13, 0), closes=dt.time(15, 0), weekdays=frozenset({2}))
    assert late.next_allowed(local(2027, 3, 22, 9, 0)) == local(2027, 3, 24, 13, 0)  # a Wed
    no_holidays = SchoolHours(country=None)
    assert no_holidays.opening(dt.date(2027, 3, 26)) == local(2027, 3, 26, 8, 0)
    with pytest.raises(ValueError):
        SchoolHours(opens=dt.time(16), closes=dt.time(8))


# --------------------------------------------------------------------------- derivation


def planned(answers: dict[str, AnswerValue], **fields: object) -> PlanRecord:
    return PlanRecord(
        id="a" * 32,
        template_id="handlingsplan",
        title="Närvarolyftet på mellanstadiet",
        status=fields.pop("status", PlanStatus.PLANNED),  # type: ignore[arg-type]
        answers=answers,
        created_at=WRITTEN,
        updated_at=fields.pop("updated_at", WRITTEN),  # type: ignore[arg-type]
    )


def dated(text: str) -> AnswerValue:
    period = parse_when(text, WRITTEN.date())
    assert period is not None
    return AnswerValue(text=text, start=period.start, end=period.end)


def test_the_follow_up_date_makes_one_reminder_on_its_first_school_day() -> None:
    plan = planned({"nar_uppfoljning": dated("v. 12 2027")})
    assert derive(HP, plan, WRITTEN) == [
        DueReminder(
            ReminderKind.FOLLOWUP,
            "nar_uppfoljning",
            local(2027, 3, 22, 8, 0),
            when="v. 12 2027 → 22–28 mars 2027",
        )
    ]


def test_a_tidplan_reminds_at_its_end_and_a_finished_follow_up_reminds_of_nothing() -> None:
    answers = {"nar_uppfoljning": dated("20 maj 2027"), "tidplan": dated("ht-26 – vt-27")}
    due = {r.kind: r.due_at for r in derive(HP, planned(answers), WRITTEN)}
    assert due == {
        ReminderKind.FOLLOWUP: local(2027, 5, 20, 8, 0),
        ReminderKind.PERIOD_END: local(2027, 6, 30, 8, 0),
    }
    assert derive(HP, planned(answers, status=PlanStatus.DONE), WRITTEN) == []


def test_an_old_date_is_history_not_a_reminder() -> None:
    plan = planned({"nar_uppfoljning": dated("2026-05-20")})
    assert derive(HP, plan, WRITTEN) == []


def test_a_half_finished_plan_is_nudged_twice_a_week_apart() -> None:
    friday_evening = local(2026, 11, 20, 18, 0)
    plan = planned(
        {"titel": AnswerValue(text="Närvarolyftet")},
        status=PlanStatus.IN_PROGRESS,
        updated_at=friday_evening,
    )
    nudges = [r for r in derive(HP, plan, WRITTEN) if r.kind is ReminderKind.NUDGE]
    assert [r.due_at for r in nudges] == [local(2026, 11, 30, 8, 0), local(2026, 12, 7, 8, 0)]


def test_each_insats_follow_up_time_in_an_atgardsplan_reminds_by_name() -> None:
    plan = PlanRecord(
        id="b" * 32,
        template_id="atgardsplan",
        title="Höörs kommun",
        answers={
            "omrade[1].insats[1].namn": AnswerValue(text="Läsfrämjande insats"),
            "uppfoljningar[1-1].nar": AnswerValue(
                text="Vid avstämningen i årshjulet v. 12 2027 och igen i juni"
            ),
            "tidplaner[1-1].period": dated("ht-26 – vt-27"),
        },
        created_at=WRITTEN,
        updated_at=WRITTEN,
    )
    found = {r.kind: r for r in derive(ATG, plan, WRITTEN)}
    assert found[ReminderKind.FOLLOWUP].due_at == local(2027, 3, 22, 8, 0)
    assert found[ReminderKind.FOLLOWUP].about == "Läsfrämjande insats"
    assert found[ReminderKind.PERIOD_END].due_at == local(2027, 6, 30, 8, 0)


# --------------------------------------------------------------------------- the message


def test_the_reminder_names_the_plan_and_offers_three_buttons() -> None:
    out = reminder_outbound(
        MSG,
        kind=ReminderKind.FOLLOWUP,
        title="Närvarolyftet på mellanstadiet",
        plan_id="f" * 32,
        reminder_id=1234567890,
    )
    assert out.text == "Dags för uppföljning av ”Närvarolyftet på mellanstadiet”: Hur blev det?"
    assert [c.label for c in out.choices] == [
        "Fyll i uppföljningen nu",
        "Påminn mig om en vecka",
        "Stäng av påminnelser för planen",
    ]
    for choice, action in zip(out.choices, ReminderAction, strict=True):
        assert len(choice.value.encode()) <= 64
        pressed = parse_button_value(choice.value)
        assert pressed is not None
        assert (pressed.action, pressed.plan_id, pressed.reminder_id) == (
            action,
            "f" * 32,
            1234567890,
        )
    assert parse_button_value("open:" + "f" * 32) is None
    assert parse_button_value(button_value(ReminderAction.WEEK, "p", 1) + ":x") is None


# --------------------------------------------------------------------------- through the app


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}"
    return await _empty_postgres(request.getfixturevalue("postgres_database"))


@pytest.fixture
async def runtime(database_url: str, clock: Clock) -> AsyncIterator[Runtime]:
    settings = Settings(
        database_url=database_url,
        prompts_dir=handlingsplan_only(),
        _env_file=None,  # type: ignore[call-arg]
    )
    runtime = await start_runtime(settings)
    runtime.conversation.clock = clock
    yield runtime
    await runtime.close()


class Outbox:
    """A channel's sender that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Outbound]] = []
        self.blocked: set[str] = set()

    async def __call__(self, chat: str, out: Outbound) -> None:
        if chat in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        self.sent.append((chat, out))


async def plan_with_followup(runtime: Runtime, when: str = "v. 12 2027") -> Teacher:
    teacher = Teacher(runtime.conversation)
    await teacher.start()
    for question, answer in ANSWERS.items():
        await teacher.say(when if question == "nar_uppfoljning" else answer)
    await teacher.say("ja")  # the review before the plan is planerad
    return teacher


async def plan_id(runtime: Runtime, teacher: Teacher) -> str:
    snapshot = await runtime.database.store.load(teacher.user, "")
    (pid,) = snapshot.plans
    return pid


def reminders_of(runtime: Runtime) -> Reminders:
    assert runtime.reminders is not None
    return runtime.reminders


async def test_the_follow_up_goes_out_at_eight_on_monday_22_march_once(runtime: Runtime) -> None:
    teacher = await plan_with_followup(runtime)
    reminders, outbox = reminders_of(runtime), Outbox()
    senders = {"test": outbox}

    for moment in (local(2027, 3, 21, 12, 0), local(2027, 3, 22, 7, 59)):
        report = await reminders.run_pass(moment, senders)
        assert report.sent == [], moment
    report = await reminders.run_pass(local(2027, 3, 22, 8, 0), senders)
    assert [r.kind for r in report.sent] == ["followup"]
    ((chat, out),) = outbox.sent
    assert chat == teacher.user.external_id
    assert (
        out.text == "Dags för uppföljning av ”Tidig uppföljning av frånvaro i åk 7”: Hur blev det?"
    )
    assert len(out.choices) == 3
    # The bot was down for a day: the next pass sends nothing again.
    assert (await reminders.run_pass(local(2027, 3, 23, 9, 0), senders)).sent == []
    assert len(outbox.sent) == 1


async def test_snooze_brings_it_back_a_week_later_within_school_hours(runtime: Runtime) -> None:
    teacher = await plan_with_followup(runtime)
    reminders, outbox = reminders_of(runtime), Outbox()
    monday = local(2027, 3, 22, 8, 0)
    (sent,) = (await reminders.run_pass(monday, {"test": outbox})).sent
    until = snoozed_until(local(2027, 3, 22, 15, 30), reminders.hours)
    assert until == local(2027, 3, 30, 8, 0)  # a week on is Monday 29: annandag påsk
    assert await reminders.store.snooze(sent.id, until, monday)
    assert (await reminders.store.get(sent.id)).state == SNOOZED  # type: ignore[union-attr]

    assert (await reminders.run_pass(local(2027, 3, 29, 10, 0), {"test": outbox})).sent == []
    (again,) = (await reminders.run_pass(local(2027, 3, 30, 8, 0), {"test": outbox})).sent
    assert again.id == sent.id
    assert len(outbox.sent) == 2
    assert teacher.user.external_id == outbox.sent[-1][0]


async def test_off_stops_every_reminder_of_the_plan_even_after_more_answers(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = await plan_with_followup(runtime)
    reminders, outbox = reminders_of(runtime), Outbox()
    pid = await plan_id(runtime, teacher)
    assert await reminders.store.turn_off(pid, clock.now) == 2  # follow-up and tidplan end
    await teacher.say("/oversikt")
    await teacher.say("/andra")
    await teacher.press("13.")
    await teacher.say("v. 14 2027")  # a new date while off: still off
    rows = await reminders.store.of_plan(pid)
    assert {r.state for r in rows} == {OFF}
    assert (await reminders.run_pass(local(2027, 12, 1, 9, 0), {"test": outbox})).sent == []
    assert outbox.sent == []
    assert await reminders.store.turn_on(pid, clock.now) == 2
    assert {r.state for r in await reminders.store.of_plan(pid)} == {PENDING}


async def test_changing_the_date_moves_the_reminder_even_after_it_was_sent(
    runtime: Runtime,
) -> None:
    teacher = await plan_with_followup(runtime)
    reminders, outbox = reminders_of(runtime), Outbox()
    pid = await plan_id(runtime, teacher)
    await reminders.run_pass(local(2027, 3, 22, 8, 0), {"test": outbox})
    (followup,) = [r for r in await reminders.store.of_plan(pid) if r.kind == "followup"]
    assert followup.state == SENT

    await teacher.say("/andra")
    await teacher.press("13.")
    await teacher.say("v. 16 2027")
    (moved,) = [r for r in await reminders.store.of_plan(pid) if r.kind == "followup"]
    assert (moved.id, moved.state) == (followup.id, PENDING)
    assert moved.due_at == local(2027, 4, 19, 8, 0)
    assert moved.when_text == "v. 16 2027 → 19–25 april 2027"
    report = await reminders.run_pass(local(2027, 4, 19, 8, 0), {"test": outbox})
    assert [r.id for r in report.sent] == [followup.id]


async def test_deleting_the_plan_removes_its_reminders(runtime: Runtime) -> None:
    teacher = await plan_with_followup(runtime)
    reminders = reminders_of(runtime)
    pid = await plan_id(runtime, teacher)
    assert len(await reminders.store.of_plan(pid)) == 2
    await teacher.say("/radera")
    await teacher.press("Radera den här planen")
    await teacher.press("Ja")
    assert (await runtime.database.store.load(teacher.user, "")).plans == {}
    assert await reminders.store.of_plan(pid) == []
    assert await reminders.store.upcoming(teacher.user) == []


async def test_a_teacher_who_blocked_the_bot_is_dropped_not_retried(runtime: Runtime) -> None:
    teacher = await plan_with_followup(runtime)
    reminders, outbox = reminders_of(runtime), Outbox()
    outbox.blocked.add(teacher.user.external_id)
    report = await reminders.run_pass(local(2027, 3, 22, 8, 0), {"test": outbox})
    assert [r.kind for r in report.dropped] == ["followup"]
    assert (await reminders.run_pass(local(2027, 4, 1, 9, 0), {"test": outbox})).dropped == []


async def test_a_failed_send_is_tried_again_later_not_lost(runtime: Runtime) -> None:
    await plan_with_followup(runtime)
    reminders = reminders_of(runtime)
    calls: list[str] = []

    async def flaky(chat: str, out: Outbound) -> None:
        calls.append(chat)
        if len(calls) == 1:
            raise ConnectionError("network down")

    monday = local(2027, 3, 22, 8, 0)
    assert len((await reminders.run_pass(monday, {"test": flaky})).retried) == 1
    assert (await reminders.run_pass(monday, {"test": flaky})).sent == []  # not yet
    later = monday + dt.timedelta(minutes=1)
    assert len((await reminders.run_pass(later, {"test": flaky})).sent) == 1
    assert len(calls) == 2


async def test_a_nudge_follows_a_week_of_silence_and_activity_re_arms_it(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = Teacher(runtime.conversation)
    await teacher.start()
    await teacher.say(ANSWERS["titel"])
    reminders, outbox = reminders_of(runtime), Outbox()
    # Clock: Monday 23 November 2026, 09:00 UTC.
    assert (await reminders.run_pass(local(2026, 11, 30, 9, 59), {"test": outbox})).sent == []
    (nudge,) = (await reminders.run_pass(local(2026, 11, 30, 10, 0), {"test": outbox})).sent
    assert nudge.kind == "nudge"
    assert "väntar" in outbox.sent[0][1].text
    clock.advance(days=8)
    await teacher.say(ANSWERS["enhet"])  # the teacher is back: the count starts again
    rows = [r for r in await reminders.store.upcoming(teacher.user) if r.kind == "nudge"]
    assert [r.due_at for r in rows] == [local(2026, 12, 8, 10, 0), local(2026, 12, 15, 10, 0)]


async def test_the_terminal_shows_due_follow_ups_when_the_chat_starts(runtime: Runtime) -> None:
    import io

    from dialogs.types import UserRef

    console = UserRef(channel="console", external_id="larare")
    teacher = Teacher(runtime.conversation, user=console)
    await teacher.start()
    for question, answer in ANSWERS.items():
        await teacher.say("v. 12 2027" if question == "nar_uppfoljning" else answer)
    await teacher.say("ja")  # the review before the plan is planerad
    reminders = reminders_of(runtime)
    screen = io.StringIO()
    assert await reminders.show_in_terminal(console, local(2027, 3, 19, 9, 0), screen) == []
    shown = await reminders.show_in_terminal(console, local(2027, 3, 22, 9, 0), screen)
    assert [r.kind for r in shown] == ["followup"]
    text = screen.getvalue()
    assert f"Dags för uppföljning av ”{ANSWERS['titel']}”: Hur blev det?" in text
    assert "/uppfoljning" in text
    assert await reminders.show_in_terminal(console, local(2027, 3, 22, 9, 5), screen) == []


async def test_plans_written_before_reminders_existed_get_them_from_a_resync(
    runtime: Runtime, clock: Clock
) -> None:
    from sqlalchemy import delete

    from storage.models import reminders as table

    teacher = await plan_with_followup(runtime)
    reminders = reminders_of(runtime)
    pid = await plan_id(runtime, teacher)
    async with runtime.database.engine.begin() as conn:
        await conn.execute(delete(table))
    assert await reminders.store.of_plan(pid) == []
    assert await reminders.resync_all(runtime.database.store, clock.now) == 1
    assert [r.due_at for r in await reminders.store.of_plan(pid)] == [
        local(2027, 3, 22, 8, 0),
        local(2027, 6, 30, 8, 0),
    ]


def test_the_teachers_wishes_in_the_plan_state_move_or_hold_its_reminders() -> None:
    from dialogs import reminders as wishes

    plan = planned({"nar_uppfoljning": dated("v. 12 2027")})
    until = local(2027, 3, 30, 8, 0)
    wishes.snooze(plan.state, ReminderKind.FOLLOWUP, "nar_uppfoljning", until)
    (snoozed,) = derive(HP, plan, WRITTEN)
    assert (snoozed.due_at, snoozed.off) == (until, None)
    wishes.turn_off(plan.state)
    assert [r.off for r in derive(HP, plan, WRITTEN)] == [True]
    wishes.turn_off(plan.state, False)
    assert [r.off for r in derive(HP, plan, WRITTEN)] == [False]


async def test_off_and_snooze_written_in_the_plan_reach_the_rows_after_the_turn(
    runtime: Runtime, clock: Clock
) -> None:
    from dialogs import reminders as wishes
    from dialogs.types import Changes

    teacher = await plan_with_followup(runtime)
    reminders, outbox = reminders_of(runtime), Outbox()
    pid = await plan_id(runtime, teacher)
    (sent,) = (await reminders.run_pass(local(2027, 3, 22, 8, 0), {"test": outbox})).sent

    async def commit_turn(change: object) -> None:
        """What the engine's button step will do: change the plan state, commit, hook."""
        plan = (await runtime.database.store.load(teacher.user, "")).plans[pid]
        before = {pid: plan.model_copy(deep=True)}
        change(plan.state)  # type: ignore[operator]
        await reminders.after_commit(
            teacher.user, before, Changes(user_state={}, plans={pid: plan}), clock.now
        )

    until = snoozed_until(local(2027, 3, 22, 9, 0), reminders.hours)
    await commit_turn(lambda s: wishes.snooze(s, ReminderKind.FOLLOWUP, "nar_uppfoljning", until))
    row = await reminders.store.get(sent.id)
    assert row is not None and (row.state, row.next_try_at) == (PENDING, until)
    (again,) = (await reminders.run_pass(until, {"test": outbox})).sent
    assert again.id == sent.id

    await commit_turn(wishes.turn_off)
    assert {r.state for r in await reminders.store.of_plan(pid)} == {OFF}
    assert (await reminders.run_pass(local(2027, 7, 1, 9, 0), {"test": outbox})).sent == []
    await commit_turn(lambda s: wishes.turn_off(s, False))
    assert OFF not in {r.state for r in await reminders.store.of_plan(pid)}


def test_snoozing_from_a_button_waits_every_reminder_that_is_due() -> None:
    from dialogs.reminders import snooze_due

    plan = planned({"nar_uppfoljning": dated("v. 12 2027"), "tidplan": dated("ht-26 – vt-27")})
    monday = local(2027, 3, 22, 9, 0)
    until = snoozed_until(monday, SchoolHours())
    assert snooze_due(HP, plan, monday, until) == 1  # the tidplan's end is not due yet
    due = {r.kind: r.due_at for r in derive(HP, plan, monday)}
    assert due == {
        ReminderKind.FOLLOWUP: local(2027, 3, 30, 8, 0),
        ReminderKind.PERIOD_END: local(2027, 6, 30, 8, 0),
    }


async def test_a_nudge_waits_for_a_full_week_after_the_latest_answer(
    runtime: Runtime, clock: Clock
) -> None:
    teacher = Teacher(runtime.conversation)
    await teacher.start()
    await teacher.say(ANSWERS["titel"])
    clock.advance(days=3)
    await teacher.say(ANSWERS["enhet"])  # Thursday 26 November
    reminders, outbox = reminders_of(runtime), Outbox()
    report = await reminders.run_pass(local(2026, 11, 30, 10, 0), {"test": outbox})
    assert (report.sent, len(report.rescheduled)) == ([], 1)
    assert (await reminders.run_pass(local(2026, 12, 3, 9, 59), {"test": outbox})).sent == []
    (nudge,) = (await reminders.run_pass(local(2026, 12, 3, 10, 0), {"test": outbox})).sent
    assert nudge.ref == "nudge-1"
    # Finished meanwhile: the second nudge is dropped, not sent.
    for answer in list(ANSWERS.values())[2:]:
        await teacher.say(answer)
    await teacher.say("ja")  # the review before the plan is planerad
    report = await reminders.run_pass(local(2026, 12, 31, 10, 0), {"test": outbox})
    assert report.sent == []


async def test_after_a_long_pause_a_plan_gets_its_date_but_no_pile_of_nudges(
    runtime: Runtime,
) -> None:
    """The teacher stopped right after "När?"; nobody ran the bot until March."""
    teacher = Teacher(runtime.conversation)
    await teacher.start()
    for question, answer in ANSWERS.items():
        await teacher.say("v. 12 2027" if question == "nar_uppfoljning" else answer)
        if question == "nar_uppfoljning":
            break
    reminders, outbox = reminders_of(runtime), Outbox()
    report = await reminders.run_pass(local(2027, 3, 22, 8, 0), {"test": outbox})
    assert [r.kind for r in report.sent] == ["followup"]
    assert sorted(r.ref for r in report.rescheduled) == ["nudge-1", "nudge-2"]
    # A week on, still no answer: one nudge, the next a week after that.
    (nudge,) = (await reminders.run_pass(local(2027, 3, 30, 8, 0), {"test": outbox})).sent
    assert nudge.ref == "nudge-1"
    assert (await reminders.run_pass(local(2027, 4, 2, 9, 0), {"test": outbox})).sent == []
    (second,) = (await reminders.run_pass(local(2027, 4, 7, 8, 0), {"test": outbox})).sent
    assert second.ref == "nudge-2"


def test_a_date_alone_after_now_means_that_school_day_not_its_midnight() -> None:
    """`planbot remind --now 2027-03-22`: the operator means that Monday, when the 08:00
    reminders are due, not the night before they are."""
    from zoneinfo import ZoneInfo

    from bot.remind_command import parse_now

    zone = ZoneInfo("Europe/Stockholm")
    assert parse_now("2027-03-22", zone) == dt.datetime(2027, 3, 22, 11, 0, tzinfo=dt.UTC)
    assert parse_now("2027-03-22T07:59", zone) == dt.datetime(2027, 3, 22, 6, 59, tzinfo=dt.UTC)
    assert parse_now("22 mars", zone) is None
