"""/tabort: remove an instance of a repeatable group (an insats, an område) after a
confirmation. Its id leaves the plan's instance list; its answers stay in the history but
leave the plan. The last instance of a group stays."""

from __future__ import annotations

from dialogs import asking, buttons, editing
from dialogs.context import Ctx, Plan
from dialogs.present import frame_title, instance_name, numbered, path_words, short, yes_or_no
from dialogs.slots import MORE, Frame, instances_of
from dialogs.state import RemoveConfirm, RemovePick, RemoveTarget
from dialogs.types import AnswerRecord, Outbound


def removable(ctx: Ctx, plan: Plan) -> list[tuple[tuple[Frame, ...], Frame]]:
    """Instances of repeatable groups that have a sibling (the last one stays), in order,
    each with the trail down to it."""
    found: dict[str, tuple[tuple[Frame, ...], Frame]] = {}
    view = plan.state.slot_view()
    for slot in ctx.slots(plan):
        for depth, frame in enumerate(slot.trail):
            if (
                frame.group.repeat
                and frame.path not in found
                and len(instances_of(view, frame.group_path)) > 1
            ):
                found[frame.path] = (slot.trail[: depth + 1], frame)
    return list(found.values())


def target_of(plan: Plan, trail: tuple[Frame, ...]) -> RemoveTarget:
    frame = trail[-1]
    name = instance_name(plan.answers, frame)
    label = frame_title(trail) + (f" ({short(name, 60)})" if name else "")
    return RemoveTarget(group=frame.group_path, id=frame.instance_id, label=label)


def menu(ctx: Ctx, plan: Plan, argument: str) -> None:
    """The instance named (a number or "Område 2 › Insats 1"), the one the teacher is in,
    or a list to choose from; then a confirmation."""
    found = removable(ctx, plan)
    if not found:
        ctx.say("remove.nothing")
        asking.prompt(ctx)
        return
    chosen: tuple[Frame, ...] | None = None
    wanted = path_words(argument)
    if argument.strip().isdecimal():
        index = int(argument.strip()) - 1
        chosen = found[index][0] if 0 <= index < len(found) else None
    elif wanted:
        exact = [t for t, _ in found if path_words(frame_title(t)) == wanted]
        chosen = exact[0] if len(exact) == 1 else None
    else:
        cursor = ctx.cursor_slot(plan)
        paths = {frame.path for _, frame in found}
        inner = [f for f in (cursor.trail if cursor else ()) if f.path in paths]
        if inner and cursor is not None:
            chosen = cursor.trail[: cursor.trail.index(inner[-1]) + 1]
    if chosen is not None:
        plan.state.mode = RemoveConfirm(target=target_of(plan, chosen))
        ctx.touch(plan)
        confirm(ctx, plan)
        return
    if wanted and not argument.strip().isdecimal():
        ctx.say("edit.no_such_part", part=argument.strip())
    targets = [target_of(plan, t) for t, _ in found]
    plan.state.mode = RemovePick(targets=targets)
    ctx.touch(plan)
    ctx.out.append(
        Outbound(
            heading=ctx.msg("remove.pick_heading"),
            text="\n".join(f"{i + 1}. {t.label}" for i, t in enumerate(targets)),
            note=ctx.msg("remove.pick_note"),
            choices=ctx.choices(numbered([t.label for t in targets], buttons.REMOVE)),
            is_question=True,
        )
    )


def pick(ctx: Ctx, plan: Plan, index: int) -> None:
    mode = plan.state.mode
    targets = mode.targets if isinstance(mode, RemovePick) else []
    plan.state.mode = None
    ctx.touch(plan)
    if not 0 <= index < len(targets):
        ctx.say("menu.pick_number")
        asking.prompt(ctx)
        return
    plan.state.mode = RemoveConfirm(target=targets[index])
    confirm(ctx, plan)


def confirm(ctx: Ctx, plan: Plan) -> None:
    mode = plan.state.mode
    label = mode.target.label if isinstance(mode, RemoveConfirm) else ""
    ctx.out.append(
        Outbound(
            heading=ctx.msg("remove.heading"),
            text=ctx.msg("remove.confirm", label=label),
            choices=ctx.choices(
                [
                    (ctx.msg("button.remove_yes"), buttons.YES),
                    (ctx.msg("button.no"), buttons.NO),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def on_confirm(ctx: Ctx, plan: Plan, token: str) -> bool:
    mode = plan.state.mode
    target = mode.target if isinstance(mode, RemoveConfirm) else None
    plan.state.mode = None
    ctx.touch(plan)
    if token == buttons.YES and target is not None:
        remove(ctx, plan, target)
    else:
        ctx.say("remove.cancelled")
    asking.prompt(ctx)
    return True


def remove(ctx: Ctx, plan: Plan, target: RemoveTarget) -> None:
    st = plan.state
    group_path, instance_id = target.group, target.id
    ids = instances_of(st.slot_view(), group_path)
    if instance_id not in ids or len(ids) <= 1:
        ctx.say("remove.last")
        return
    was_last = ids[-1] == instance_id
    ids.remove(instance_id)
    st.instances = {**st.instances, group_path: ids}
    done = plan.answers.get(f"{group_path}[{instance_id}].{MORE}")
    if was_last and done is not None and done.choice == "nej":
        # The "no more" moves to the new last one: removing asks nothing new.
        path = f"{group_path}[{ids[-1]}].{MORE}"
        plan.answers[path] = done
        ctx.answers.append(AnswerRecord(plan_id=plan.id, path=path, value=done, created_at=ctx.now))
    ctx.say("remove.done", label=target.label)
    live = {s.path for s in ctx.slots(plan)}
    if st.cursor is not None and st.cursor not in live:
        st.cursor = ctx.first_open(plan)
    if st.return_to not in live:
        st.return_to = None


def confirm_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    """A typed yes or no answers the confirmation; other text leaves it and is an answer."""
    yes = yes_or_no(text)
    if yes is not None:
        return on_confirm(ctx, plan, yes)
    plan.state.mode = None
    return False


def pick_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    """A label, a number or a unique prefix of a label picks; anything else asks again."""
    mode = plan.state.mode
    targets = mode.targets if isinstance(mode, RemovePick) else []
    index = editing.pick_by_name(text, [[t.label, t.label.split(" (")[0]] for t in targets])
    if index is None:
        ctx.say("menu.pick_number")
        pick_prompt(ctx, plan)
        return True
    pick(ctx, plan, index)
    return True


def pick_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    index = buttons.index_of(token, buttons.REMOVE)
    if index is None:
        return False
    pick(ctx, plan, index)
    return True


def pick_prompt(ctx: Ctx, plan: Plan) -> None:
    plan.state.mode = None
    menu(ctx, plan, "")
