"""/andra: change an answer given earlier. A list of the answered questions (all of them, or
the part named: "/andra Område 2 › Insats 1"); a pick moves the cursor there, and after the
new answer the dialog returns to where the teacher was."""

from __future__ import annotations

from dialogs import asking, buttons
from dialogs.context import Ctx, Plan
from dialogs.present import numbered, path_words, short, shown
from dialogs.state import Editing
from dialogs.types import Outbound


def menu(ctx: Ctx, plan: Plan, argument: str) -> None:
    slots = [s for s in ctx.slots(plan) if not s.is_more and s.path in plan.answers]
    if not slots:
        ctx.say("edit.nothing")
        asking.prompt(ctx)
        return
    where = path_words(argument)
    if where and not argument.strip().isdecimal():
        # "/andra Område 2 › Insats 1": only that part of the plan
        inside = [s for s in slots if path_words(s.breadcrumb()).startswith(where)]
        if not inside:
            ctx.say("edit.no_such_part", part=argument.strip())
        elif len(inside) == 1:
            plan.state.mode = Editing(paths=[inside[0].path])
            pick(ctx, plan, 0)
            return
        else:
            slots = inside
    if argument.strip().isdecimal() and 1 <= int(argument) <= len(slots):
        plan.state.mode = Editing(paths=[s.path for s in slots])
        pick(ctx, plan, int(argument) - 1)
        return
    plan.state.mode = Editing(paths=[s.path for s in slots])
    ctx.touch(plan)
    lines = [
        ctx.msg(
            "edit.line",
            number=i + 1,
            label=s.breadcrumb(),
            answer=short(shown(ctx.msg, plan.answers[s.path]), 60),
        )
        for i, s in enumerate(slots)
    ]
    ctx.out.append(
        Outbound(
            heading=ctx.msg("edit.heading"),
            text="\n".join(lines),
            note=ctx.msg("edit.note"),
            choices=ctx.choices(numbered([s.breadcrumb() for s in slots], buttons.EDIT)),
            is_question=True,
        )
    )


def pick(ctx: Ctx, plan: Plan, index: int) -> None:
    mode = plan.state.mode
    paths = mode.paths if isinstance(mode, Editing) else []
    plan.state.mode = None
    if not 0 <= index < len(paths):
        ctx.say("menu.pick_number")
        asking.prompt(ctx)
        return
    cursor = plan.state.cursor
    if cursor != paths[index] and plan.state.return_to is None:
        plan.state.return_to = cursor
    plan.state.cursor = paths[index]
    ctx.touch(plan)
    asking.prompt(ctx)


def prompt(ctx: Ctx, plan: Plan) -> None:
    plan.state.mode = None
    menu(ctx, plan, "")


def on_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    """A label, a number or a unique prefix of a label picks; anything else asks again."""
    mode = plan.state.mode
    paths = mode.paths if isinstance(mode, Editing) else []
    by_path = {s.path: s for s in ctx.slots(plan)}
    names = [
        [s.breadcrumb(), s.label, s.question.short or ""] if s.question is not None else []
        for s in (by_path.get(p) for p in paths)
        if s is not None
    ]
    index = pick_by_name(text, names) if len(names) == len(paths) else None
    if index is None:
        ctx.say("menu.pick_number")
        prompt(ctx, plan)
        return True
    pick(ctx, plan, index)
    return True


def pick_by_name(text: str, names: list[list[str]], *, prefix: bool = True) -> int | None:
    """The item a typed text picks: an exact name wins ("Mål" is not "Målgrupp"), then a
    number, then (with `prefix`) the start of exactly one item's name."""
    key = _key(text)
    if not key:
        return None
    exact = [i for i, item in enumerate(names) if any(_key(n) == key for n in item if n)]
    if len(exact) == 1:
        return exact[0]
    number = key.rstrip(".)")
    if number.isdecimal():
        index = int(number) - 1
        return index if 0 <= index < len(names) else None
    if not prefix:
        return None
    starts = [i for i, item in enumerate(names) if any(_key(n).startswith(key) for n in item if n)]
    return starts[0] if len(starts) == 1 else None


def _key(text: str) -> str:
    return path_words(text).rstrip(".!?: ")


def on_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    index = buttons.index_of(token, buttons.EDIT)
    if index is None:
        return False
    pick(ctx, plan, index)
    return True
