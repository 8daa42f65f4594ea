"""Asking: what the teacher should answer now (the open menu, the mode's own prompt, or the
cursor's question with its buttons and progress line), and /hjalp."""

from __future__ import annotations

from dialogs import bursts, buttons, carry, menus, reminder_actions, review
from dialogs.context import Ctx, Plan
from dialogs.present import shown
from dialogs.slots import Frame, Slot, instances_of
from dialogs.state import ResumeMenu
from dialogs.template import AnswerType, Group, Question, Template
from dialogs.types import Outbound, PlanStatus


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
        # Imported here: the router imports every concern, and every concern asks.
        from dialogs import routing

        routing.MODES[plan.state.mode.name].prompt(ctx, plan)
        return
    slot = ctx.cursor_slot(plan)
    if slot is None:
        finished_prompt(ctx, plan)
        return
    carry.show_carried(ctx, plan, slot)
    ctx.out.append(question(ctx, plan, slot, reasked=reasked))


def finished_prompt(ctx: Ctx, plan: Plan) -> None:
    if plan.status is PlanStatus.IN_PROGRESS and ctx.first_open(plan) is None:
        # Every question answered but not yet confirmed (the review was left by a command).
        review.start(ctx, plan)
        return
    ctx.out.append(
        Outbound(
            text=ctx.msg(
                f"finished.{plan.status.value}",
                title=ctx.title(plan),
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
    unglue = bursts.unglue_label(ctx, plan)
    if unglue is not None:
        pairs.append((unglue, buttons.UNGLUE))
    if bursts.offers_append(ctx, plan) is not None:
        pairs.append((msg("button.append"), buttons.APPEND))
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
    note_parts.append(msg(f"type_hint.{q.type.value}", burst=ctx.burst.total_seconds() > 0))
    return Outbound(
        heading=heading,
        text=text,
        note=" ".join(p for p in note_parts if p),
        progress=progress(ctx, plan, slot),
        choices=ctx.choices(pairs),
        is_question=True,
    )


def progress(ctx: Ctx, plan: Plan, slot: Slot) -> str:
    """ "Steg 2 av 4 · fråga 5 av 14"; inside a group instance the count is the instance's own
    ("Område 2 · Insats 1 · fråga 3 av 8"), which adding an insats does not change, plus the
    share of the whole plan answered; a question asked once for a plan of many parts says
    "för hela planen"."""
    template = ctx.template(plan)
    slots = ctx.slots(plan)
    questions = [s for s in slots if not s.is_more]
    trail = _trail(slots, slot)
    nested = _has_parts(template)
    if trail:
        inner = trail[-1].path
        within = [s for s in questions if s.trail and s.trail[-1].path == inner]
    elif nested:
        # The questions outside the parts: a count that adding an insats does not change.
        within = [s for s in questions if not s.trail]
    else:
        within = questions
    number = next((i + 1 for i, s in enumerate(within) if s.path == slot.path), None)
    if number is None:  # a "more" slot: count the questions before it
        index = slots.index(slot) if slot in slots else 0
        number = sum(1 for s in slots[:index] if s in within)
    step_number = sum(1 for s in template.steps[: slot.step_index + 1] if s.numbered)
    share = None
    if nested:
        answered, total = ctx.counts(plan)
        share = round(100 * answered / total) if total else 0
    return ctx.msg(
        "progress",
        numbered=slot.step.numbered,
        step=step_number,
        steps=template.numbered_steps,
        step_title=slot.step.title,
        part=" · ".join(f.crumb for f in trail),
        number=number,
        total=len(within),
        whole=_whole_plan(template, slot),
        share=share,
    )


def _trail(slots: list[Slot], slot: Slot) -> tuple[Frame, ...]:
    """The instance a slot belongs to; a "more" slot belongs to the instance before it."""
    if not slot.is_more or slot not in slots:
        return slot.trail
    for earlier in reversed(slots[: slots.index(slot)]):
        if not earlier.is_more and len(earlier.trail) > len(slot.trail):
            return earlier.trail[: len(slot.trail) + 1]
    return slot.trail


def _has_parts(template: Template) -> bool:
    return template.has_repeatable_parts


def _whole_plan(template: Template, slot: Slot) -> bool:
    """A top-level question after the repeatable parts of a plan: asked once for all of
    them (the åtgärdsplan's "Plan för insatser", "Styrkor ...")."""
    if slot.trail or slot.question is None:
        return False
    for index, step in enumerate(template.steps):
        if index >= slot.step_index:
            return False
        if any(isinstance(item, Group) and item.repeat for item in step.items):
            return True
    return False


def help_(ctx: Ctx) -> None:
    """/hjalp: the current question's help, then the commands."""
    plan = ctx.active
    slot = ctx.cursor_slot(plan) if plan is not None else None
    if slot is not None and slot.question is not None:
        help_question(ctx, slot.question)
    ctx.say("help.commands")
    prompt(ctx)


def help_question(ctx: Ctx, q: Question) -> None:
    """What to write at this question, with an example."""
    ctx.out.append(
        Outbound(
            heading=ctx.msg("help.heading", label=q.label),
            text=ctx.msg(
                "help.question",
                help=q.help or q.prompt,
                guidance=q.guidance or "",
                example=q.example or "",
                optional=not q.required,
                type_hint=ctx.msg(f"type_hint.{q.type.value}", burst=ctx.burst.total_seconds() > 0),
            ),
        )
    )
