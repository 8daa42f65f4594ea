"""Asking: what the teacher should answer now (the open menu, the mode's own prompt, or the
cursor's question with its buttons and progress line), and /hjalp."""

from __future__ import annotations

from dialogs import buttons, carry, menus, reminder_actions, routing
from dialogs.context import Ctx, Plan
from dialogs.present import shown
from dialogs.slots import Slot, instances_of
from dialogs.state import ResumeMenu
from dialogs.template import AnswerType
from dialogs.types import Outbound


def prompt(ctx: Ctx, *, reasked: bool = False) -> None:
    """Send what the teacher should answer now, given menus and modes."""
    if ctx.user.menu is not None:
        menus.reprompt(ctx)
        return
    plan = ctx.active
    if plan is None:
        if ctx.plans:
            ctx.out.append(
                Outbound(
                    text=ctx.msg("no_active_plan"),
                    choices=ctx.choices(
                        [
                            (ctx.msg("button.my_plans"), buttons.PLANS),
                            (ctx.msg("button.new_plan"), buttons.NEW),
                        ]
                    ),
                )
            )
            ctx.user.menu = ResumeMenu()
        else:
            ctx.say("welcome.empty")
        return
    if plan.state.mode is not None:
        routing.MODES[plan.state.mode.name].prompt(ctx, plan)
        return
    slot = ctx.cursor_slot(plan)
    if slot is None:
        finished_prompt(ctx, plan)
        return
    carry.show_carried(ctx, plan, slot)
    ctx.out.append(question(ctx, plan, slot, reasked=reasked))


def finished_prompt(ctx: Ctx, plan: Plan) -> None:
    template = ctx.template(plan)
    ctx.out.append(
        Outbound(
            text=ctx.msg(
                f"finished.{plan.status.value}",
                title=plan.title or template.name,
                **reminder_actions.followup_words(ctx, plan),
            ),
            choices=ctx.choices(
                [
                    (ctx.msg("button.export"), buttons.EXPORT),
                    (ctx.msg("button.new_plan"), buttons.NEW),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def question(ctx: Ctx, plan: Plan, slot: Slot, *, reasked: bool) -> Outbound:
    msg = ctx.msg
    pairs: list[tuple[str, str]] = []
    current = plan.answers.get(slot.path)
    if slot.is_more:
        assert slot.more_of is not None
        pairs = [(msg("button.yes"), buttons.YES), (msg("button.no"), buttons.NO)]
        return Outbound(
            heading=slot.more_of.add_prompt,
            text=msg(
                "more.text",
                label=slot.more_of.label,
                count=len(instances_of(plan.state.slot_view(), slot.group_path)),
            ),
            progress=progress(ctx, plan, slot),
            choices=ctx.choices(pairs),
            is_question=True,
            accepts_text=False,
        )
    q = slot.question
    assert q is not None
    if q.type is AnswerType.CHOICE:
        pairs += [(label, buttons.indexed(buttons.CHOICE, i)) for i, label in enumerate(q.choices)]
        if q.allow_other:
            pairs.append((msg("button.other"), buttons.OTHER))
    elif q.type is AnswerType.YESNO:
        pairs += [(msg("button.yes"), buttons.YES), (msg("button.no"), buttons.NO)]
    if current is not None and not reasked:
        pairs.append((msg("button.keep"), buttons.KEEP))
    if not q.required:
        pairs.append((msg("button.skip"), buttons.SKIP))
    heading = slot.breadcrumb() if slot.trail else q.label
    text = q.prompt
    inner = slot.trail[-1] if slot.trail else None
    if inner is not None and inner.item:
        label = inner.group.label
        if inner.group.per is not None:
            label = ctx.template(plan).group(inner.group.per).label
        text = msg("question.item", label=label, item=inner.item) + "\n\n" + text
    if current is not None and not current.skipped:
        text += "\n\n" + msg("question.current", answer=shown(msg, current))
    draft = plan.state.draft_text
    if draft and current is None:
        text += "\n\n" + msg("question.draft_kept", length=len(draft))
    note_parts = []
    if not q.required:
        note_parts.append(msg("question.optional"))
    note_parts.append(msg(f"type_hint.{q.type.value}"))
    return Outbound(
        heading=heading,
        text=text,
        note=" ".join(p for p in note_parts if p),
        progress=progress(ctx, plan, slot),
        choices=ctx.choices(pairs),
        is_question=True,
    )


def progress(ctx: Ctx, plan: Plan, slot: Slot) -> str:
    template = ctx.template(plan)
    slots = ctx.slots(plan)
    questions = [s for s in slots if not s.is_more]
    number = next((i + 1 for i, s in enumerate(questions) if s.path == slot.path), None)
    if number is None:  # a "more" slot: count the question before it
        number = sum(1 for s in slots[: slots.index(slot)] if not s.is_more) if slot in slots else 0
    step_number = sum(1 for s in template.steps[: slot.step_index + 1] if s.numbered)
    return ctx.msg(
        "progress",
        numbered=slot.step.numbered,
        step=step_number,
        steps=template.numbered_steps,
        step_title=slot.step.title,
        number=number,
        total=len(questions),
    )


def help_(ctx: Ctx) -> None:
    """/hjalp: the current question's help, then the commands."""
    plan = ctx.active
    slot = ctx.cursor_slot(plan) if plan is not None else None
    if slot is not None and slot.question is not None:
        q = slot.question
        ctx.out.append(
            Outbound(
                heading=ctx.msg("help.heading", label=q.label),
                text=ctx.msg(
                    "help.question",
                    help=q.help or q.prompt,
                    guidance=q.guidance or "",
                    example=q.example or "",
                    optional=not q.required,
                    type_hint=ctx.msg(f"type_hint.{q.type.value}"),
                ),
            )
        )
    ctx.say("help.commands")
    prompt(ctx)
