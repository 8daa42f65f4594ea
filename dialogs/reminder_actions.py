"""What the teacher does with reminders: the buttons under a reminder the bot sent by itself,
/paminnelser (what is coming, per plan, with on/off buttons), and how the follow-up date is
told back.

A reminder arrives outside the conversation, days after the prompt the teacher last saw, so
its buttons ("rem:<action>:<plan id>[:<reminder id>]", dialogs/buttons.py) name their plan
and are taken whatever the teacher is doing:

| button                            | effect                                                 |
|-----------------------------------|--------------------------------------------------------|
| Fyll i uppföljningen nu (`now`)   | the plan becomes the active one (the plan the teacher  |
|                                   | was in keeps its cursor); planerad: its follow-up      |
|                                   | questions; klar: "already done"; pågår: where it was;  |
|                                   | an åtgärdsplan: its slutredovisning                    |
| Påminn mig om en vecka (`week`)   | every reminder of the plan due now waits a week        |
| Stäng av … (`off`), Slå på (`on`) | the plan's reminders off / on again                    |

The wishes are written into the plan's state (`PlanState.reminders`) and commit with the
turn; the reminder rows follow in the after-commit hook (bot/reminders.py), so nothing here
touches delivery state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dialogs import asking, buttons, followup, lifecycle, personal_data
from dialogs.context import Ctx, Plan, has_followup
from dialogs.dates import describe_day, read_back
from dialogs.present import short
from dialogs.reminders import (
    DueReminder,
    derive,
    is_off,
    snooze_due_in,
    snoozed_until,
    turn_off,
)
from dialogs.template import Question, Template
from dialogs.types import AnswerValue, Choice, Outbound, PlanStatus

# A long answer being collected is kept when the plan is opened from a reminder (the plan
# asks for it first); an answer held for the personal-data warning is let go, as when any
# other plan is opened: the follow-up moves the cursor away from the question it answered.
KEPT_MODES = ("buffer",)
LIST_PLANS = 10  # plans shown by /paminnelser (the most recently changed)


@dataclass(frozen=True)
class Coming:
    """One reminder a plan will send, as /paminnelser and Slack's App Home list it."""

    plan_id: str
    title: str
    reminder: DueReminder
    off: bool
    line: str  # "måndag 22 mars 2027: uppföljning, Hur blev det? – v. 12 2027 → …"


# --------------------------------------------------------------------------- the buttons


def on_press(ctx: Ctx, press: buttons.ReminderPress) -> None:
    plan = ctx.plans.get(press.plan_id)
    if plan is None or plan.template_id not in ctx.templates:
        # The plan was deleted since: nothing to open, snooze or stop.
        ctx.out.append(Outbound(text=ctx.msg("reminder.plan_gone"), notice=True))
        return
    if press.action == buttons.REMIND_NOW:
        open_followup(ctx, plan)
    elif press.action == buttons.REMIND_WEEK:
        snooze_week(ctx, plan)
    else:
        switch(ctx, plan, off=press.action == buttons.REMIND_OFF, listed=press.reminder_id is None)


def open_followup(ctx: Ctx, plan: Plan) -> None:
    """ "Fyll i uppföljningen nu": that plan's follow-up, whatever the teacher was doing."""
    left = ctx.active
    ctx.user.menu = None
    if left is not None and left.id != plan.id and left.status is not PlanStatus.DONE:
        # Its cursor and mode stay in its own state: /planer brings the teacher back.
        ctx.say("reminder.left", title=ctx.title(left))
    template = ctx.template(plan)
    if not has_followup(template) and plan.status is not PlanStatus.IN_PROGRESS:
        _open_next_plan(ctx, plan, template)
        return
    if plan.status is PlanStatus.IN_PROGRESS or not has_followup(template):
        lifecycle.activate(ctx, plan)  # a nudge: on where it was
        return
    lifecycle.switch_to(ctx, plan)
    personal_data.drop(ctx, plan)
    if plan.state.mode_name not in KEPT_MODES:
        plan.state.mode = None  # an offer, a pause, a list to pick from: the follow-up instead
    ctx.touch(plan)
    if plan.status is PlanStatus.DONE:
        ctx.say("reminder.already_done", title=ctx.title(plan))
        asking.prompt(ctx)
        return
    ctx.say("reminder.opened", title=ctx.title(plan))
    followup.start(ctx, plan)


def _open_next_plan(ctx: Ctx, plan: Plan, template: Template) -> None:
    """A plan without follow-up questions (the åtgärdsplan) is followed up in the plan that
    carries its answers on (the slutredovisning): the one begun from it, or a new one."""
    after = next(
        (t for t in ctx.templates.values() if t.carry and t.carry.source == template.id), None
    )
    if after is None:
        lifecycle.activate(ctx, plan)
        return
    begun = [
        p
        for p in ctx.plans.values()
        if p.template_id == after.id and p.state.carried_plan == plan.id
    ]
    if begun:
        lifecycle.activate(ctx, max(begun, key=lambda p: p.updated_at))
        return
    ctx.say("reminder.next_plan", title=ctx.title(plan), template=after.name)
    lifecycle.create_plan(ctx, after, source=plan)


def snooze_week(ctx: Ctx, plan: Plan) -> None:
    """ "Påminn mig om en vecka": what is due now comes again a week on, in school hours."""
    rules = ctx.rules
    until = snoozed_until(ctx.now, rules.hours)
    template = ctx.template(plan)
    count = snooze_due_in(
        template, plan.stored(), plan.state, ctx.now, until, rules.hours, rules.nudges
    )
    if plan.status is PlanStatus.PLANNED:
        plan.state.followup_snoozed = ctx.today  # nor the offer in the chat before then
    ctx.touch(plan)
    local = until.astimezone(rules.hours.zone).date()
    if count or plan.status is PlanStatus.IN_PROGRESS:
        ctx.say("reminder.snoozed", title=ctx.title(plan), day=describe_day(local))
    else:
        ctx.say("reminder.nothing_due", title=ctx.title(plan))
    _back_to_work(ctx)


def switch(ctx: Ctx, plan: Plan, *, off: bool, listed: bool) -> None:
    turn_off(plan.state, off)
    ctx.touch(plan)
    key = "reminder.turned_off" if off else "reminder.turned_on"
    ctx.say(key, title=ctx.title(plan))
    if listed:
        listing(ctx)
    else:
        _back_to_work(ctx)


def _back_to_work(ctx: Ctx) -> None:
    """After a reminder's button, the question the teacher was on, if any, again."""
    plan = ctx.active
    if ctx.user.menu is not None or (plan is not None and plan.state.cursor is not None):
        asking.prompt(ctx)


# --------------------------------------------------------------------------- /paminnelser


def coming(ctx: Ctx) -> list[Coming]:
    """Every reminder each plan of the teacher will send (or would, when off), plan by plan,
    the most recently changed plan first."""
    rules = ctx.rules
    plans = sorted(ctx.plans.values(), key=lambda p: p.updated_at, reverse=True)
    out = []
    for plan in plans:
        template = ctx.templates.get(plan.template_id)
        if template is None:
            continue
        for reminder in derive(template, plan.stored(), ctx.now, rules.hours, rules.nudges):
            out.append(
                Coming(
                    plan.id,
                    ctx.title(plan),
                    reminder,
                    is_off(plan.state),
                    describe(ctx, reminder),
                )
            )
    return out


def describe(ctx: Ctx, reminder: DueReminder) -> str:
    """ "måndag 22 mars 2027: Uppföljning – Hur blev det? (v. 12 2027 → 22–28 mars 2027)"."""
    day = reminder.due_at.astimezone(ctx.rules.hours.zone).date()
    return ctx.msg(
        "reminders.line",
        day=describe_day(day),
        due=reminder.due_at <= ctx.now,
        what=ctx.msg(f"reminders.kind.{reminder.kind.value}"),
        about=reminder.about,
        when=reminder.when,
    )


def listing(ctx: Ctx) -> None:
    """/paminnelser: per plan what is coming, and a button to turn it off or on."""
    found = coming(ctx)
    plans = sorted(ctx.plans.values(), key=lambda p: p.updated_at, reverse=True)
    plans = [p for p in plans if p.template_id in ctx.templates][:LIST_PLANS]
    if not plans:
        ctx.say("reminders.no_plans")
        asking.prompt(ctx)
        return
    blocks: list[str] = []
    choices: list[Choice] = []
    for plan in plans:
        mine = [c for c in found if c.plan_id == plan.id]
        off = is_off(plan.state)
        lines = [ctx.msg("reminders.plan", title=ctx.title(plan), off=off)]
        lines += [f"• {c.line}" for c in mine] or [ctx.msg("reminders.none")]
        blocks.append("\n".join(lines))
        if mine or off:
            label = ctx.msg("reminders.button.on" if off else "reminders.button.off")
            action = buttons.REMIND_ON if off else buttons.REMIND_OFF
            choices.append(
                Choice(
                    label=short(f"{label}: {ctx.title(plan)}", 60),
                    value=buttons.reminder(action, plan.id),
                )
            )
    ctx.out.append(
        Outbound(
            heading=ctx.msg("reminders.heading"),
            text="\n\n".join(blocks),
            note=ctx.msg("reminders.note"),
            choices=tuple(choices),
        )
    )


# --------------------------------------------------------------------------- the date told back


def _followup_answer(template: Template, answers: dict[str, AnswerValue]) -> AnswerValue | None:
    for path, item in template.walk():
        if isinstance(item, Question) and item.followup_date:
            value = answers.get(path)
            if value is not None and value.start is not None:
                return value
    return None


def followup_words(ctx: Ctx, plan: Plan) -> dict[str, str]:
    """The follow-up date as the teacher wrote it and as understood ("v. 12 2027 → 22–28 mars
    2027"), and the day the reminder comes ("måndag 22 mars 2027"; "" when it will not:
    reminders off, or the day passed): the `followup` and `remind_day` of the messages."""
    value = _followup_answer(ctx.template(plan), plan.answers)
    if value is None or value.start is None:
        return {"followup": "", "remind_day": ""}
    when = read_back(value.text, value.start, value.end or value.start)
    day = plan.state.followup_date
    remind = day is not None and day >= ctx.today and not is_off(plan.state)
    return {"followup": when, "remind_day": describe_day(day) if remind and day else ""}


def followup_day(value: AnswerValue, ctx: Ctx) -> dt.date | None:
    """The day a follow-up date answer stands for: the first school day of its period ("v. 12
    2027" → Monday 22 March, not Easter Day at its end), the day the reminder comes and the
    in-chat offer begins."""
    if value.start is None:
        return None
    return ctx.rules.hours.next_school_day(value.start)
