"""The review before a plan becomes *planerad* or *klar*: each part with its answers, what
was skipped, and a yes to confirm or a way to change an answer (mode `review`)."""

from __future__ import annotations

from dialogs import asking, buttons, editing, lifecycle
from dialogs.context import Ctx, Plan
from dialogs.present import frame_title, short, shown, yes_or_no
from dialogs.state import Review
from dialogs.types import Outbound, PlanStatus

REVIEW_ANSWER_CHARS = 160


def start(ctx: Ctx, plan: Plan) -> None:
    plan.state.mode = Review()
    ctx.touch(plan)
    prompt(ctx, plan)


def prompt(ctx: Ctx, plan: Plan) -> None:
    msg = ctx.msg
    parts: list[str] = []
    skipped: list[str] = []
    step_title: str | None = None
    part: str | None = None
    for slot in ctx.slots(plan):
        if slot.is_more or slot.question is None:
            continue
        if slot.step.title != step_title:
            step_title = slot.step.title
            parts.append(f"— {step_title} —")
            part = None
        where = frame_title(slot.trail) if slot.trail else None
        if where is not None and where != part:
            parts.append(f"▸ {where}")
        part = where
        value = plan.answers.get(slot.path)
        label = slot.question.short or slot.question.label
        if value is None or value.skipped:
            skipped.append(slot.breadcrumb())
            continue
        parts.append(f"{label}: {short(shown(msg, value), REVIEW_ANSWER_CHARS)}")
    next_status = PlanStatus.PLANNED if lifecycle.becomes_planned(ctx, plan) else PlanStatus.DONE
    status = msg(f"status.{next_status.value}")
    ctx.out.append(
        Outbound(
            heading=msg("review.heading"),
            text="\n".join([f"”{ctx.title(plan)}”", *parts]),
            note=msg("review.question", skipped=skipped, status=status),
            choices=ctx.choices(
                [
                    (msg("button.review_yes", status=status), buttons.YES),
                    (msg("button.review_edit"), buttons.EDIT_LIST),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def on_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    plan.state.mode = None
    ctx.touch(plan)
    if token == buttons.YES:
        lifecycle.phase_complete(ctx, plan, confirmed=True)
    elif token in (buttons.EDIT_LIST, buttons.NO):
        editing.menu(ctx, plan, "")
    else:
        prompt_again(ctx, plan)
    return True


def pending(ctx: Ctx, plan: Plan) -> bool:
    """Every question of the phase answered, the teacher's yes not yet given."""
    return plan.status is PlanStatus.IN_PROGRESS and ctx.first_open(plan) is None


def go_on(ctx: Ctx, plan: Plan) -> None:
    """/uppfoljning while the review waits: the teacher goes on with the plan as reviewed,
    which is that yes (the follow-up questions then follow)."""
    plan.state.mode = None
    lifecycle.phase_complete(ctx, plan, confirmed=True, ask=False)


def prompt_again(ctx: Ctx, plan: Plan) -> None:
    plan.state.mode = Review()
    ctx.say("menu.pick_number")
    asking.prompt(ctx)


def on_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    """A typed yes confirms, a no opens the list of answers; anything else asks again."""
    yes = yes_or_no(text)
    if yes is not None:
        return on_button(ctx, plan, yes)
    prompt_again(ctx, plan)
    return True
