"""The follow-up: when a *planerad* plan's follow-up date has come, the teacher is offered
to fill in the follow-up questions (/uppfoljning starts them any time). "Senare" snoozes
the offer for SNOOZE; the follow-up questions end with the plan *klar*."""

from __future__ import annotations

import datetime as dt

from dialogs import asking, buttons
from dialogs.context import Ctx, Plan, has_followup
from dialogs.present import yes_or_no
from dialogs.state import FollowupOffer
from dialogs.template import Phase
from dialogs.types import Outbound, PlanStatus

# "Senare" on the offer: asked again a week later (a teacher who said "later" should not
# be asked again at the next message, nor forgotten; /uppfoljning works any time).
SNOOZE = dt.timedelta(days=7)


def due(plan: Plan, today: dt.date) -> bool:
    st = plan.state
    if plan.status is not PlanStatus.PLANNED or st.followup_date is None:
        return False
    if st.followup_snoozed is not None and today < st.followup_snoozed + SNOOZE:
        return False
    return st.followup_date <= today


def offer(ctx: Ctx, plan: Plan) -> None:
    plan.state.mode = FollowupOffer()
    ctx.touch(plan)
    ctx.out.append(
        Outbound(
            text=ctx.msg("followup.offer", title=ctx.title(plan)),
            choices=ctx.choices(
                [
                    (ctx.msg("button.followup_now"), buttons.NOW),
                    (ctx.msg("button.later"), buttons.LATER),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def reoffer(ctx: Ctx, plan: Plan) -> None:
    plan.state.mode = None
    offer(ctx, plan)


def on_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    plan.state.mode = None
    ctx.touch(plan)
    if token == buttons.NOW:
        start(ctx, plan)
    else:
        plan.state.followup_snoozed = ctx.today
        ctx.say("followup.later")
    return True


def on_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    """A typed yes or no answers the offer; other text leaves it and is an answer."""
    yes = yes_or_no(text)
    if yes is not None:
        return on_button(ctx, plan, buttons.NOW if yes == buttons.YES else buttons.LATER)
    plan.state.mode = None
    return False


def start(ctx: Ctx, plan: Plan) -> None:
    """/uppfoljning: the follow-up questions, from the first unanswered one."""
    if not has_followup(ctx.template(plan)):
        ctx.say("followup.none")
        asking.prompt(ctx)
        return
    if plan.status is PlanStatus.IN_PROGRESS:
        ctx.say("followup.not_yet")
        asking.prompt(ctx)
        return
    plan.state.phase = Phase.FOLLOWUP
    plan.state.followup_snoozed = None
    plan.state.cursor = ctx.first_open(plan)
    if plan.state.cursor is None:
        plan.status = PlanStatus.DONE
    ctx.touch(plan)
    ctx.say("followup.start")
    asking.prompt(ctx)
