"""The personal-data warning: an answer that looks like it names a pupil (a personnummer, an
e-mail address, a phone number...) is held until the teacher keeps it or rephrases it."""

from __future__ import annotations

from dialogs import answering, asking, buttons, validators
from dialogs.context import Ctx, Plan
from dialogs.slots import Slot
from dialogs.state import Pending, PersonalData
from dialogs.types import AnswerValue, Outbound


def hold(ctx: Ctx, plan: Plan, slot: Slot, value: AnswerValue) -> bool:
    """Hold a valid answer that holds personal data (and ask); False when it holds none."""
    found = validators.personal_data(value.text)
    if not found:
        return False
    plan.state.mode = PersonalData(pending=Pending(path=slot.path, value=value, kinds=found))
    ctx.touch(plan)
    asking.prompt(ctx)
    return True


def prompt(ctx: Ctx, plan: Plan) -> None:
    mode = plan.state.mode
    kinds = (
        [ctx.msg(f"pii.{k}") for k in mode.pending.kinds] if isinstance(mode, PersonalData) else []
    )
    ctx.out.append(
        Outbound(
            heading=ctx.msg("pii.heading"),
            text=ctx.msg("pii.warning", kinds=kinds),
            choices=ctx.choices(
                [
                    (ctx.msg("button.pii_edit"), buttons.PII_EDIT),
                    (ctx.msg("button.pii_keep"), buttons.PII_KEEP),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def on_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    mode = plan.state.mode
    pending = mode.pending if isinstance(mode, PersonalData) else None
    plan.state.mode = None
    ctx.touch(plan)
    slot = ctx.cursor_slot(plan)
    if token == buttons.PII_KEEP and pending and slot is not None and slot.path == pending.path:
        answering.store(ctx, plan, slot, pending.value)
        answering.advance(ctx, plan)
        return True
    ctx.say("pii.rephrase")
    asking.prompt(ctx)
    return True


def on_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    """Text instead of a button: a rephrased answer (validated again like any). The held
    text goes now, even if the new answer fails validation: the plan is touched so the state
    without it is what gets stored."""
    drop(ctx, plan)
    return False


def drop(ctx: Ctx, plan: Plan) -> None:
    """Let go of a held answer: the flagged text must not outlive the warning in the stored
    plan state (a command or another plan left the warning)."""
    if isinstance(plan.state.mode, PersonalData):
        plan.state.mode = None
        ctx.touch(plan)
