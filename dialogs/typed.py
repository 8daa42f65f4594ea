"""Buttons pressed by typing, and commands mistyped.

Where a prompt shows buttons, a channel without buttons (the terminal) prints them numbered:
"[1] Hoppa över". A text that is such a number, or a button's label, presses that button,
in every channel and before the text is validated as an answer: "1" at "[1] Behåll svaret"
keeps the answer, it is not a one-character answer. The buttons are the ones the current
prompt shows (`shown`: the prompt built again on a scratch copy of the state).

At a count question a bare number may also be the count: then the bot asks which was meant
("Menade du antalet 2 eller [2] Hoppa över?") instead of guessing.

A command the bot does not know but that is close to one it does ("/oversigt", "/exporter")
gets "Menade du /oversikt?" and the current question again.
"""

from __future__ import annotations

import difflib

from dialogs import asking, buttons
from dialogs.commands import Command, fold
from dialogs.context import Ctx, Plan
from dialogs.template import AnswerType
from dialogs.types import Choice, Outbound


def shown(ctx: Ctx) -> tuple[Choice, ...]:
    """The buttons of the prompt the teacher sees now, built on a scratch copy of the state:
    nothing in the step changes."""
    out, user, touched = ctx.out, ctx.user, set(ctx.touched)
    saved = {pid: (p.state, p.record.updated_at) for pid, p in ctx.plans.items()}
    ctx.out = []
    ctx.user = user.model_copy(deep=True)
    for plan in ctx.plans.values():
        plan.state = plan.state.model_copy(deep=True)
    try:
        asking.prompt(ctx)
        prompts = ctx.out
    finally:
        ctx.out, ctx.user, ctx.touched = out, user, touched
        for pid, (state, updated) in saved.items():
            ctx.plans[pid].state = state
            ctx.plans[pid].record.updated_at = updated
    for message in reversed(prompts):
        if message.choices:
            return message.choices
    return ()


def _key(text: str) -> str:
    return " ".join(fold(text).split()).rstrip(".!")


def press(ctx: Ctx, plan: Plan, text: str) -> bool:
    """A typed button number or label: the button pressed. False when the text is not one."""
    stripped = text.strip()
    if not stripped or len(stripped) > 80:
        return False
    choices = shown(ctx)
    if not choices:
        return False
    picked: Choice | None = None
    number = stripped.rstrip(".)")
    if number.isdecimal() and 1 <= int(number) <= len(choices):
        picked = choices[int(number) - 1]
        slot = ctx.cursor_slot(plan)
        q = slot.question if slot is not None else None
        if q is not None and q.type is AnswerType.COUNT and plan.state.mode is None:
            which(ctx, int(number), picked)
            return True
    else:
        key = _key(stripped)
        picked = next((c for c in choices if _key(c.label) == key), None)
    if picked is None:
        return False
    parsed = buttons.parse(picked.value)
    if not isinstance(parsed, buttons.Scoped):
        return False
    from dialogs import routing  # the router imports this module

    routing.on_token(ctx, parsed.token)
    return True


def which(ctx: Ctx, number: int, button: Choice) -> None:
    """A number at a count question that is also a button's number: ask which was meant."""
    parsed = buttons.parse(button.value)
    token = parsed.token if isinstance(parsed, buttons.Scoped) else buttons.OTHER
    ctx.out.append(
        Outbound(
            text=ctx.msg("typed.which", number=number, label=button.label),
            choices=ctx.choices(
                [
                    (ctx.msg("button.the_count", number=number), f"{buttons.NUMBER}{number}"),
                    (button.label, token),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def suggestion(name: str) -> str | None:
    """The command a mistyped one was most likely meant as ("oversigt" → "oversikt")."""
    key = fold(name)
    names = [c.value for c in Command]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    if close:
        return close[0]
    starts = [n for n in names if len(key) >= 3 and n.startswith(key)]
    return starts[0] if len(starts) == 1 else None


def mistyped(ctx: Ctx, name: str) -> bool:
    """ "/oversigt": Menade du /oversikt? and the question again. False when nothing is close."""
    meant = suggestion(name)
    if meant is None:
        return False
    ctx.say("command.did_you_mean", name=name, meant=meant)
    asking.prompt(ctx)
    return True
