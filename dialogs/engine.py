"""The dialog engine: (snapshot, inbound, now) → (changes, [outbound]). Pure: no I/O.

Theory of operation
-------------------
A teacher has plans; one is *active*. A plan's questions are its *slots* (dialogs/slots.py),
derived from the template, the plan's group instances and its answers. The plan state
(dialogs/state.py, typed) holds a *cursor* (the slot being asked) and, at most, one *mode* that
changes what the next message means. The user state holds the active plan and, at most, one
teacher-level *menu* (choose a plan or a template, carry over from a plan, confirm a deletion,
the resume offer). An open menu comes first; then the plan's mode; then the cursor's question.

A step loads the typed state from the snapshot into a working copy (dialogs/context.py),
routes the inbound (dialogs/routing.py) and turns the copy into Changes. Inbound kinds: a
start and an unsupported attachment are the same in every mode (the greeting; a short
explanation and the question again); typed text, a pressed button and a command go by this
table, rendered from routing.MODES and routing.COMMANDS (L = /hjalp /oversikt /exportera,
the commands that only look). Before the table, typed text that is the number or the label of
a button the current prompt shows presses that button (dialogs/typed.py); with no mode, text
in a burst after a free-text answer is added to it (dialogs/bursts.py), and a short question
to the bot gets the help (dialogs/asked.py):

| mode           | typed text                | a button              | a command                  |
|----------------|---------------------------|-----------------------|----------------------------|
| (menu open)    | number or label: picks    | picks                 | close it; /hjalp not       |
| (none)         | burst, question or answer | the question's        | run                        |
| paused         | resumes (not an answer)   | the question's        | end it                     |
| buffer         | one more piece            | Klar: pieces → answer | only L /paus /klar /avbryt |
| pii            | a rephrased answer        | keep, or rephrase     | end it; L keep it          |
| andra          | label/number/prefix picks | picks what to change  | end it; L keep it          |
| remove_pick    | label/number/prefix picks | picks what to remove  | end it; L keep it          |
| remove         | yes/no; else answer       | ja removes, nej keeps | end it; L keep it          |
| followup_offer | yes/no; else answer       | now, later (snoozes)  | end it; L keep it          |
| append         | added to the answer       | Avbryt                | end it; L keep it          |
| asked          | the answer                | keep the question     | end it; L keep it          |
| review         | yes/no; else asks again   | ja confirms, ändra    | end it; L keep it          |

A command needs an active plan unless it is /start, /hjalp, /ny, /planer, /radera,
/mina-uppgifter or /paminnelser.
After a stored answer the cursor moves to the first unanswered slot after it (or the first
unanswered anywhere); after an /andra detour it returns to where the teacher was. When no slot
of the phase is left, the teacher reviews the plan (dialogs/review.py) and on a yes a
handlingsplan is *planerad* and its follow-up questions wait for the follow-up date (the offer
then; "Senare" snoozes it a week); a plan without follow-up questions is *klar*.

Nested groups: an *utvecklingsområde* holds *insatser*; `per` groups ask once per insats in a
later step and `each` groups once per item of a list answer (each goal). /tabort removes an
instance of a repeatable group; /andra with a path ("Område 2 › Insats 1") lists only that part.
A template with `carry` (the slutredovisning) can start from one of the teacher's plans of the
source template (dialogs/carry.py).

Buttons carry a tag of the prompt they belong to (dialogs/buttons.py, the one grammar of button
values): a press on a button of an earlier prompt changes nothing and gets a short notice.
Buttons that name their plan (Slack's App Home, the copies offered with a document) are not
tagged: they stay good as long as the plan exists.
The buttons under a reminder the bot sent by itself ("rem:…") name their plan and are taken
whatever the teacher is doing (dialogs/reminder_actions.py): "Fyll i uppföljningen nu" makes
that plan the active one (the other keeps its cursor), "Påminn mig om en vecka" and "Stäng
av" write the teacher's wish into the plan's state, and the reminder rows follow after the
commit (dialogs/reminders.py, storage/reminders.py).

Where things live: routing.py (the tables, dispatch), asking.py (the prompt, progress,
/hjalp), answering.py (validation, storing, moving on, /hoppa, /tillbaka), typed.py, bursts.py
(bursts, /laggtill), asked.py, review.py, long_answers.py,
personal_data.py, editing.py (/andra), removing.py (/tabort), menus.py, lifecycle.py
(start, create, open, /paus, planerad/klar, export, delete), followup.py, carry.py,
overview.py, present.py (how answers are written), my_data.py (/mina-uppgifter), state.py,
context.py, buttons.py, reminder_actions.py (the reminder buttons, /paminnelser).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dialogs import asking, buttons, reminder_actions, routing
from dialogs.commands import MENU
from dialogs.context import Ctx, counts
from dialogs.messages import Messages
from dialogs.reminders import ReminderRules
from dialogs.state import PlanState, UserState
from dialogs.template import Template
from dialogs.types import Changes, Inbound, Outbound, PlanRecord, PlanSummary, Snapshot


@dataclass
class StepResult:
    changes: Changes
    outbounds: list[Outbound]
    plans: dict[str, PlanRecord]  # every plan of the user after the step (for export)


class Engine:
    def __init__(
        self,
        templates: dict[str, Template],
        messages: Messages,
        rules: ReminderRules | None = None,
        *,
        burst_seconds: float = 3.0,
    ) -> None:
        if not templates:
            raise ValueError("the engine needs at least one template")
        for template in templates.values():
            for target, source in (template.carry.map if template.carry else {}).items():
                if target.rpartition(".")[0] != source.rpartition(".")[0]:
                    raise ValueError(
                        f"template {template.id!r}: carry.map {target!r} ← {source!r} must sit "
                        "in groups of the same ids"
                    )
        self.templates = templates
        self.msg = messages
        self.rules = rules or ReminderRules()
        self.burst = dt.timedelta(seconds=max(0.0, burst_seconds))

    def _burst(self, snapshot: Snapshot) -> dt.timedelta:
        """The burst window for this teacher's channel: none in the terminal, where a pasted
        text is already one message (bot/console.py) and scripts pipe answers line by line."""
        return dt.timedelta(0) if snapshot.user.ref.channel == "console" else self.burst

    def step(self, snapshot: Snapshot, inbound: Inbound, now: dt.datetime) -> StepResult:
        ctx = Ctx.load(self.templates, self.msg, snapshot, inbound, now, self._burst(snapshot))
        ctx.rules = self.rules
        routing.dispatch(ctx, inbound)
        return _result(ctx)

    def replay(self, snapshot: Snapshot, now: dt.datetime) -> list[Outbound]:
        """A repeated update: change nothing, ask the current question again."""
        ctx = Ctx.load(self.templates, self.msg, snapshot, None, now, self._burst(snapshot))
        ctx.rules = self.rules
        asking.prompt(ctx)
        return ctx.out

    def upcoming(self, snapshot: Snapshot, now: dt.datetime) -> list[reminder_actions.Coming]:
        """The teacher's reminders to come, soonest first (Slack's App Home)."""
        ctx = Ctx.load(self.templates, self.msg, snapshot, None, now)
        ctx.rules = self.rules
        return sorted(
            (c for c in reminder_actions.coming(ctx) if not c.off),
            key=lambda c: c.reminder.due_at,
        )

    def summaries(self, snapshot: Snapshot) -> list[PlanSummary]:
        active = UserState.load(snapshot.user.state).active
        rows = []
        for plan in sorted(snapshot.plans.values(), key=lambda p: p.updated_at, reverse=True):
            template = self.templates.get(plan.template_id)
            if template is None:
                continue
            answered, total = counts(template, PlanState.load(plan.state), plan.answers)
            rows.append(
                PlanSummary(
                    id=plan.id,
                    title=plan.title or template.name,
                    template_id=template.id,
                    template_name=template.name,
                    status=plan.status,
                    answered=answered,
                    total=total,
                    updated_at=plan.updated_at,
                    active=plan.id == active,
                    open_value=buttons.plan_action(buttons.OPEN_PLAN, plan.id),
                    export_value=buttons.plan_action(buttons.EXPORT_PLAN, plan.id),
                )
            )
        return rows

    def command_menu(self) -> list[tuple[str, str]]:
        # A platform's menu takes a-z, 0-9 and _ (Telegram): /mina-uppgifter is /mina_uppgifter.
        return [(c.value.replace("-", "_"), self.msg(f"command.{c.value}")) for c in MENU]


def _result(ctx: Ctx) -> StepResult:
    # A plan whose state or record changed is committed, whether or not its handler said so
    # (ctx.touch): a mode ended without a touch stayed stored and took the next "ja" for the
    # old question. Then an untouched plan is as it was loaded and needs no new dump.
    for pid, plan in ctx.plans.items():
        loaded = ctx.snapshot.plans.get(pid)
        if pid in ctx.touched or loaded is None:
            continue
        if (
            plan.record.title != loaded.title
            or plan.record.status != loaded.status
            or plan.state.dump() != loaded.state
        ):
            ctx.touch(plan)
    plans = {
        pid: plan.stored() if pid in ctx.touched else ctx.snapshot.plans[pid]
        for pid, plan in ctx.plans.items()
    }
    user_state: dict[str, Any] = {} if ctx.delete_user else ctx.user.dump()
    changes = Changes(
        user_state=user_state,
        plans={pid: plans[pid] for pid in ctx.touched if pid in plans},
        answers=ctx.answers,
        deleted_plans=ctx.deleted,
        delete_user=ctx.delete_user,
    )
    return StepResult(changes, ctx.out, plans)
