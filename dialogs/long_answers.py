"""Long answers that arrive in pieces: a message this long may be one piece of a longer text
the platform split (Telegram splits at 4,096 characters), so the pieces are collected until
the teacher says /klar (or presses "Klar"), then validated as one answer."""

from __future__ import annotations

from dialogs import answering, asking, buttons
from dialogs.context import Ctx, Plan
from dialogs.state import Buffer
from dialogs.types import Outbound

LONG_PIECE = 3500


def start(ctx: Ctx, plan: Plan, text: str) -> None:
    plan.state.mode = Buffer(text=text)
    ctx.touch(plan)
    prompt(ctx, plan)


def add(ctx: Ctx, plan: Plan, text: str) -> bool:
    """In the buffer mode, any text is one more piece."""
    mode = plan.state.mode
    assert isinstance(mode, Buffer)
    so_far = mode.text
    joiner = "" if so_far.endswith(("\n", " ")) or text.startswith(("\n", " ")) else "\n"
    plan.state.mode = Buffer(text=so_far + joiner + text)
    ctx.touch(plan)
    prompt(ctx, plan)
    return True


def prompt(ctx: Ctx, plan: Plan) -> None:
    mode = plan.state.mode
    length = len(mode.text) if isinstance(mode, Buffer) else 0
    ctx.out.append(
        Outbound(
            text=ctx.msg("buffer.received", length=length),
            choices=ctx.choices([(ctx.msg("button.done"), buttons.DONE)]),
            is_question=True,
        )
    )


def on_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    if token != buttons.DONE:
        return False
    finish(ctx, plan)
    return True


def finish(ctx: Ctx, plan: Plan) -> None:
    """/klar: the collected pieces are one answer."""
    mode = plan.state.mode
    text = mode.text if isinstance(mode, Buffer) else ""
    plan.state.mode = None
    ctx.touch(plan)
    cursor = plan.state.cursor
    rev = plan.state.rev
    answering.answer(ctx, plan, text)
    rejected = plan.state.rev == rev and plan.state.mode is None
    if rejected and plan.state.cursor == cursor and text:
        # Rejected (e.g. too long): keep the text so nothing the teacher wrote is lost.
        plan.state.draft_text = text


def on_done(ctx: Ctx, plan: Plan) -> None:
    if isinstance(plan.state.mode, Buffer):
        finish(ctx, plan)
    else:
        ctx.say("buffer.nothing")
        asking.prompt(ctx)


def on_cancel(ctx: Ctx, plan: Plan) -> None:
    """/avbryt: the collected pieces are dropped."""
    if isinstance(plan.state.mode, Buffer):
        plan.state.mode = None
        ctx.touch(plan)
        ctx.say("buffer.cancelled")
    asking.prompt(ctx)
