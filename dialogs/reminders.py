"""When the bot comes back by itself: the reminders a plan should have, and at what hour.

Theory of operation. Reminders are *derived*, never edited by hand: from a plan's template,
answers and status, `derive` lists the reminders the plan should have right now, each with
a stable key (kind, ref) and a due time. Storage keeps one row per key and, after every
committed turn, makes its rows match the list (storage/reminders.py): a new date creates a
row, a changed date moves it, a removed answer, a finished follow-up or a deleted plan
removes it. Delivery (claimed, sent, dropped) is a state of those rows.

The teacher's wishes live in the plan, so the engine can honour them in a pure step and they
commit with the turn: `plan.state["reminders"]` holds "off" (True/False; absent: never said)
and "snoozed" ({"<kind>:<ref>": ISO time}). `turn_off` and `snooze` below write them;
`derive` reads them — a snoozed reminder is due at the snooze's end (a new due time, so a
reminder already sent goes out again then), and `DueReminder.off` tells storage to hold or
release the rows.

What creates a reminder:

| source                                                | kind       | due                     |
|-------------------------------------------------------|------------|-------------------------|
| a `followup_date` / `remind: followup` answer          | followup   | first school day of it  |
| a `remind: period_end` answer (a tidplan)              | period_end | the period's last day   |
| a plan in progress, untouched for `nudge_after`        | nudge      | last activity + n × it  |

Follow-up reminders of a template with follow-up questions end when the plan is klar (the
follow-up is done); a template without them (the åtgärdsplan) keeps its dates whatever its
status. A date that spans days ("v. 12 2027", "maj 2027", "ht-26") is due on its first
school day: "v. 12 2027" is Monday 22 March, not Easter Day at the end of that week. A date
more than `STALE` before now (an old period copied from last year's plan) creates nothing.

Every due time is inside `SchoolHours`: a weekday, no Swedish public holiday (nor
midsommarafton, julafton, nyårsafton), between opening and closing time in
Europe/Stockholm; a moment outside is moved to the next opening. The `holidays` package
knows the Swedish calendar (Easter, Ascension Day, Midsummer move every year).

Pure: no I/O; the clock is a parameter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from dialogs import buttons
from dialogs.dates import Period, find_when, read_back
from dialogs.messages import Messages
from dialogs.slots import Frame, plan_slots, schema_path
from dialogs.state import PlanState, ReminderWishes
from dialogs.template import Group, Phase, Question, Remind, Template
from dialogs.types import Choice, Outbound, PlanRecord, PlanStatus

# A date this far behind `now` when the plan is saved is history, not a reminder.
STALE = dt.timedelta(days=30)


class ReminderKind(StrEnum):
    FOLLOWUP = "followup"  # "Hur blev det?" on the follow-up date
    PERIOD_END = "period_end"  # a tidplan has run out
    NUDGE = "nudge"  # a half-finished plan nobody answered for a while


class ReminderAction(StrEnum):
    """The three buttons under a reminder."""

    NOW = "now"  # open the plan's follow-up (a nudge: continue the plan) now
    WEEK = "week"  # "Påminn mig om en vecka"
    OFF = "off"  # "Stäng av påminnelser för planen"


SNOOZE = dt.timedelta(days=7)


# --------------------------------------------------------------------------- button values
# The values live in the engine's one button grammar (dialogs/buttons.py, "rem:…"): context-
# free like "open:<plan id>", valid whatever the teacher is doing, since a reminder arrives
# outside the conversation. These two read and write the three under a sent reminder.


def button_value(action: ReminderAction, plan_id: str, reminder_id: int) -> str:
    return buttons.reminder(action.value, plan_id, reminder_id)


@dataclass(frozen=True)
class ButtonPress:
    action: ReminderAction
    plan_id: str
    reminder_id: int


def parse_button_value(value: str) -> ButtonPress | None:
    """The pressed reminder button, or None when `value` is no reminder button."""
    parsed = buttons.parse(value)
    if not isinstance(parsed, buttons.ReminderPress) or parsed.reminder_id is None:
        return None
    if parsed.action not in ReminderAction.__members__.values():
        return None
    return ButtonPress(ReminderAction(parsed.action), parsed.plan_id, parsed.reminder_id)


# --------------------------------------------------------------------------- school hours


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[dt.date]:
    try:
        found = holidays.country_holidays(country, years=year, categories=("public", "de_facto"))
    except NotImplementedError:  # a country without de-facto holidays in the package
        found = holidays.country_holidays(country, years=year)
    return frozenset(found.keys())


@dataclass(frozen=True)
class SchoolHours:
    """When a reminder may arrive: weekdays (0 = Monday), opening to closing time in
    `timezone`, not on the public holidays of `country` (None: no holidays)."""

    timezone: str = "Europe/Stockholm"
    opens: dt.time = dt.time(8, 0)
    closes: dt.time = dt.time(16, 0)
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    country: str | None = "SE"

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # an unknown zone fails here, at start-up
        if not self.opens < self.closes:
            raise ValueError(f"school hours: opens {self.opens} is not before closes {self.closes}")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"school hours: weekdays {sorted(self.weekdays)} are not 0–6")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_school_day(self, day: dt.date) -> bool:
        if day.weekday() not in self.weekdays:
            return False
        return self.country is None or day not in _holidays(self.country, day.year)

    def next_school_day(self, day: dt.date) -> dt.date:
        """`day` itself if it is a school day, else the next one."""
        for _ in range(400):
            if self.is_school_day(day):
                return day
            day += dt.timedelta(days=1)
        raise ValueError("school hours: no school day within a year")

    def opening(self, day: dt.date) -> dt.datetime:
        """Opening time of the school day on or after `day`, in UTC."""
        local = dt.datetime.combine(self.next_school_day(day), self.opens, tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    def next_allowed(self, moment: dt.datetime) -> dt.datetime:
        """`moment` (aware) if a reminder may arrive then, else the next opening; UTC."""
        local = moment.astimezone(self.zone)
        day, time = local.date(), local.time()
        if self.is_school_day(day) and self.opens <= time < self.closes:
            return moment.astimezone(dt.UTC)
        if self.is_school_day(day) and time < self.opens:
            return self.opening(day)
        return self.opening(day + dt.timedelta(days=1))

    def allows(self, moment: dt.datetime) -> bool:
        return self.next_allowed(moment) == moment.astimezone(dt.UTC)

    def first_school_day(self, period: Period) -> dt.date:
        """The first school day within the period, or the next one after its start."""
        return self.next_school_day(period.start)


# --------------------------------------------------------------------------- derivation


@dataclass(frozen=True)
class Nudges:
    """A half-finished plan: a nudge `after` its last activity, then again, `times` at most."""

    after: dt.timedelta = dt.timedelta(days=7)
    times: int = 2


@dataclass(frozen=True)
class ReminderRules:
    """The operator's settings the engine needs to answer a reminder button."""

    hours: SchoolHours = field(default_factory=SchoolHours)
    nudges: Nudges = field(default_factory=Nudges)


@dataclass(frozen=True)
class DueReminder:
    """One reminder a plan should have. (kind, ref) is its key within the plan."""

    kind: ReminderKind
    ref: str  # the answer's path, or "nudge-1", "nudge-2"
    due_at: dt.datetime  # UTC, within the school hours
    about: str = ""  # where in the plan, for the text: "Insats 2: Läsfrämjande" ("" = plan)
    when: str = ""  # the date as understood: "v. 12 2027 → 22–28 mars 2027"
    # The plan's reminders turned off (True) or back on (False) by the teacher; None: the
    # teacher never said, storage keeps whatever an operator set.
    off: bool | None = None

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.ref}"


STATE_KEY = "reminders"


def turn_off(state: PlanState | dict[str, Any], off: bool = True) -> None:
    """Record in a plan's state (typed, or its stored JSON) that its reminders are off (or
    on again)."""
    if isinstance(state, PlanState):
        wishes = state.reminders or ReminderWishes()
        wishes.off = off
        state.reminders = wishes
        return
    state.setdefault(STATE_KEY, {})["off"] = off


def snooze(
    state: PlanState | dict[str, Any], kind: ReminderKind, ref: str, until: dt.datetime
) -> None:
    """Record in a plan's state that one reminder waits until `until` (see snoozed_until)."""
    key, until = f"{kind.value}:{ref}", until.astimezone(dt.UTC)
    if isinstance(state, PlanState):
        wishes = state.reminders or ReminderWishes()
        wishes.snoozed = {**wishes.snoozed, key: until}
        state.reminders = wishes
        return
    state.setdefault(STATE_KEY, {}).setdefault("snoozed", {})[key] = until.isoformat()


def is_off(state: PlanState) -> bool:
    return state.reminders is not None and state.reminders.off is True


def _wishes(state: Mapping[str, Any]) -> tuple[bool | None, dict[str, dt.datetime]]:
    raw = state.get(STATE_KEY)
    if not isinstance(raw, dict):
        return None, {}
    off = raw.get("off")
    snoozed: dict[str, dt.datetime] = {}
    for key, value in (raw.get("snoozed") or {}).items():
        with contextlib.suppress(TypeError, ValueError):
            moment = dt.datetime.fromisoformat(value)
            snoozed[str(key)] = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return (off if isinstance(off, bool) else None), snoozed


def _about(trail: tuple[Frame, ...]) -> str:
    parts = []
    for frame in trail:
        if frame.group.per is not None:
            parts.append(frame.item or frame.title)
        elif frame.item:
            parts.append(frame.item)
        else:
            parts.append(frame.crumb)
    return " › ".join(p for p in parts if p)


def _kind_of(question: Question) -> ReminderKind | None:
    if question.remind is Remind.PERIOD_END:
        return ReminderKind.PERIOD_END
    if question.remind is Remind.FOLLOWUP or question.followup_date:
        return ReminderKind.FOLLOWUP
    return None


def input_paths(template: Template) -> frozenset[str]:
    """Schema paths of the answers `derive` reads: dates that remind, and instance names."""
    paths = set()
    for path, item in template.walk():
        if isinstance(item, Question) and _kind_of(item) is not None:
            paths.add(path)
        elif isinstance(item, Group) and item.name_field is not None:
            paths.add(f"{path}.{item.name_field}")
    return frozenset(paths)


def inputs(plan: PlanRecord, wanted: frozenset[str]) -> tuple[Any, ...]:
    """Everything `derive` reads of a plan but the clock and its last activity (`wanted`:
    `input_paths` of its template): two plans with equal inputs have the same reminders
    (nudge times aside). Cheap, so a turn that changed none of it (most answers) can skip
    deriving and storing altogether."""
    return (
        plan.status,
        bool(plan.answers),
        plan.created_at,
        plan.state.get(STATE_KEY),
        plan.state.get("instances"),
        sorted(
            (path, value.model_dump_json())
            for path, value in plan.answers.items()
            if schema_path(path) in wanted
        ),
    )


def has_followup_phase(template: Template) -> bool:
    return any(
        isinstance(item, Question) and item.phase is Phase.FOLLOWUP for _, item in template.walk()
    )


def derive(
    template: Template,
    plan: PlanRecord,
    now: dt.datetime,
    hours: SchoolHours | None = None,
    nudges: Nudges | None = None,
) -> list[DueReminder]:
    """Every reminder `plan` should have, in plan order (nudges last)."""
    hours = hours or SchoolHours()
    nudges = nudges or Nudges()
    out: list[DueReminder] = []
    followup_done = has_followup_phase(template) and plan.status is PlanStatus.DONE
    # Yearless dates in free text are read as of when the plan was begun.
    today = plan.created_at.date()
    for slot in plan_slots(template, plan.state, plan.answers):
        question = slot.question
        kind = None if question is None else _kind_of(question)
        if kind is None or followup_done:
            continue
        value = plan.answers.get(slot.path)
        if value is None or value.skipped:
            continue
        if value.start is not None:
            period = Period(value.start, value.end or value.start)
        else:
            found = find_when(value.text, today)
            if found is None:
                continue
            period = found
        if kind is ReminderKind.PERIOD_END:
            due = hours.opening(period.end)
        else:
            due = hours.opening(hours.first_school_day(period))
        if due < now - STALE:
            continue
        out.append(
            DueReminder(
                kind,
                slot.path,
                due,
                about=_about(slot.trail),
                when=read_back(value.text, period.start, period.end),
            )
        )
    if plan.status is PlanStatus.IN_PROGRESS and plan.answers:
        for n in range(1, nudges.times + 1):
            due = hours.next_allowed(plan.updated_at + n * nudges.after)
            out.append(DueReminder(ReminderKind.NUDGE, f"nudge-{n}", due))
    off, snoozed = _wishes(plan.state)
    return [replace(r, due_at=max(r.due_at, snoozed.get(r.key, r.due_at)), off=off) for r in out]


def snooze_due(
    template: Template,
    plan: PlanRecord,
    now: dt.datetime,
    until: dt.datetime,
    hours: SchoolHours | None = None,
    nudges: Nudges | None = None,
) -> int:
    """ "Påminn mig om en vecka" pressed under a reminder of `plan`: every reminder of the
    plan that is due by `now` waits until `until` (in plan.state); how many."""
    return snooze_due_in(template, plan, plan.state, now, until, hours, nudges)


def snooze_due_in(
    template: Template,
    plan: PlanRecord,
    state: PlanState | dict[str, Any],
    now: dt.datetime,
    until: dt.datetime,
    hours: SchoolHours | None = None,
    nudges: Nudges | None = None,
) -> int:
    """`snooze_due` with the wishes written to `state` (the engine's typed working copy of
    the plan whose record is `plan`)."""
    due = [r for r in derive(template, plan, now, hours, nudges) if r.due_at <= now]
    for reminder in due:
        snooze(state, reminder.kind, reminder.ref, until)
    return len(due)


def snoozed_until(
    now: dt.datetime, hours: SchoolHours, delay: dt.timedelta = SNOOZE
) -> dt.datetime:
    """ "Påminn mig om en vecka": a week from now on the school's clock (09:00 stays 09:00
    across a change to summer time), at an hour the window allows."""
    local = now.astimezone(hours.zone).replace(tzinfo=None) + delay
    return hours.next_allowed(local.replace(tzinfo=hours.zone))


# --------------------------------------------------------------------------- the message


def reminder_outbound(
    msg: Messages,
    *,
    kind: ReminderKind,
    title: str,
    plan_id: str,
    reminder_id: int,
    about: str = "",
    when: str = "",
) -> Outbound:
    """The reminder as the teacher sees it: what it is about and the three buttons."""
    now_label = "reminder.button.continue" if kind is ReminderKind.NUDGE else "reminder.button.now"
    buttons: Iterable[tuple[str, ReminderAction]] = (
        (msg(now_label), ReminderAction.NOW),
        (msg("reminder.button.week"), ReminderAction.WEEK),
        (msg("reminder.button.off"), ReminderAction.OFF),
    )
    return Outbound(
        text=msg(f"reminder.{kind.value}", title=title, about=about, when=when),
        note=msg("reminder.note"),
        choices=tuple(
            Choice(label=label, value=button_value(action, plan_id, reminder_id))
            for label, action in buttons
        ),
        accepts_text=True,
    )
