"""Answering the cursor's question: validation, the personal-data check, storing, moving the
cursor on (after an /andra detour: back to where the teacher was), "one more?" answers,
/hoppa and /tillbaka."""

from __future__ import annotations

from dialogs import (
    asking,
    bursts,
    buttons,
    dates,
    lifecycle,
    long_answers,
    personal_data,
    reminder_actions,
    validators,
)
from dialogs.commands import fold
from dialogs.context import Ctx, Plan
from dialogs.present import yes_or_no
from dialogs.slots import Slot, instances_of, is_answered
from dialogs.template import AnswerType
from dialogs.types import AnswerRecord, AnswerValue, Outbound


def on_text(ctx: Ctx, plan: Plan, text: str) -> None:
    """Text that no mode took: the answer to the cursor's question."""
    if plan.state.cursor is None:
        lifecycle.on_finished_plan_text(ctx, plan)
        return
    slot = ctx.cursor_slot(plan)
    if slot is not None and slot.question is not None:
        keep_label = ctx.msg("button.keep")
        keep = len(text) < 2 * len(keep_label) and fold(text.strip()) == fold(keep_label)
        if keep and slot.path in plan.answers:
            advance(ctx, plan)
            return
        if slot.question.type in (AnswerType.LONG_TEXT, AnswerType.LIST) and (
            len(text) >= long_answers.LONG_PIECE
        ):
            long_answers.start(ctx, plan, text)
            return
    answer(ctx, plan, text)


def on_choice_index(ctx: Ctx, plan: Plan, index: int) -> None:
    slot = ctx.cursor_slot(plan)
    if slot is None or slot.question is None or index >= len(slot.question.choices):
        asking.prompt(ctx)
        return
    answer(ctx, plan, slot.question.choices[index])


def answer(ctx: Ctx, plan: Plan, text: str, *, pii_ok: bool = False) -> None:
    slot = ctx.cursor_slot(plan)
    if slot is None:
        asking.prompt(ctx)
        return
    if slot.is_more:
        yes = yes_or_no(text)
        if yes is None:
            ctx.say("invalid.bad_yesno")
            asking.prompt(ctx)
            return
        answer_more(ctx, plan, slot, yes == buttons.YES)
        return
    assert slot.question is not None
    result = validators.validate(slot.question, text, ctx.today)
    if isinstance(result, validators.Invalid):
        ctx.out.append(
            Outbound(
                text=ctx.msg("invalid." + result.reason, **result.params),
                note=ctx.msg("reask.example", example=slot.question.example)
                if slot.question.example
                else None,
            )
        )
        asking.prompt(ctx, reasked=True)
        return
    if (
        slot.question.followup_date
        and not slot.trail
        and result.start is not None
        and (result.end or result.start) < ctx.today
    ):
        # A follow-up in the past would never come: ask again rather than store it.
        ctx.out.append(
            Outbound(
                text=ctx.msg(
                    "date.followup_past",
                    when=dates.read_back(result.text, result.start, result.end or result.start),
                ),
                note=ctx.msg("reask.example", example=slot.question.example)
                if slot.question.example
                else None,
            )
        )
        asking.prompt(ctx, reasked=True)
        return
    if not pii_ok and personal_data.hold(ctx, plan, slot, result):
        return
    store(ctx, plan, slot, result)
    read_back(ctx, slot, result)
    advance(ctx, plan)


def read_back(ctx: Ctx, slot: Slot, value: AnswerValue) -> None:
    """How a date or period was understood, said when it is stored."""
    q = slot.question
    if q is None or value.start is None or q.type not in (AnswerType.DATE, AnswerType.PERIOD):
        return
    ctx.say(
        "date.read_back",
        label=q.short or q.label,
        when=dates.read_back(value.text, value.start, value.end or value.start),
    )


def answer_more(ctx: Ctx, plan: Plan, slot: Slot, yes: bool) -> None:
    word = "ja" if yes else "nej"
    store(ctx, plan, slot, AnswerValue(text=word, choice=word))
    if yes:
        st = plan.state
        ids = instances_of(st.slot_view(), slot.group_path)
        new_id = str(st.next_instance)
        st.next_instance = int(new_id) + 1
        st.instances = {**st.instances, slot.group_path: [*ids, new_id]}
        first_new = f"{slot.group_path}[{new_id}]."
        for candidate in ctx.slots(plan):
            if candidate.path.startswith(first_new):
                st.cursor = candidate.path
                ctx.touch(plan)
                asking.prompt(ctx)
                return
    advance(ctx, plan)


def store(ctx: Ctx, plan: Plan, slot: Slot, value: AnswerValue) -> None:
    plan.answers[slot.path] = value
    plan.state.rev += 1
    plan.state.draft_text = None
    ctx.answers.append(
        AnswerRecord(plan_id=plan.id, path=slot.path, value=value, created_at=ctx.now)
    )
    template = ctx.template(plan)
    q = slot.question
    if q is not None and not slot.trail:
        if q.id == template.title_field and not value.skipped:
            plan.title = value.text
        if q.followup_date and value.start is not None:
            plan.state.followup_date = reminder_actions.followup_day(value, ctx)
    bursts.remember(ctx, plan, slot, value)
    ctx.touch(plan)


def advance(ctx: Ctx, plan: Plan) -> None:
    slots = ctx.slots(plan)
    paths = [s.path for s in slots]
    cursor = plan.state.cursor
    back = plan.state.return_to
    plan.state.return_to = None
    nxt: str | None = None
    if (
        back is not None
        and back in paths
        and not is_answered(slots[paths.index(back)], plan.answers)
    ):
        nxt = back
    if nxt is None:
        start = paths.index(cursor) + 1 if cursor in paths else 0
        for slot in slots[start:]:
            if not is_answered(slot, plan.answers):
                nxt = slot.path
                break
    if nxt is None:
        nxt = ctx.first_open(plan)
    plan.state.cursor = nxt
    ctx.touch(plan)
    if nxt is None:
        lifecycle.phase_complete(ctx, plan)
        return
    asking.prompt(ctx)


def keep(ctx: Ctx, plan: Plan) -> None:
    """The "keep" button: the answer stays, on to the next question."""
    plan.state.mode = None
    advance(ctx, plan)


def skip(ctx: Ctx, plan: Plan) -> None:
    """/hoppa: an optional question left empty ("one more?" questions: no)."""
    slot = ctx.cursor_slot(plan)
    if slot is None:
        asking.prompt(ctx)
        return
    if slot.is_more:
        answer(ctx, plan, "nej")
        return
    assert slot.question is not None
    if slot.question.required:
        ctx.say("skip.required", label=slot.question.label)
        asking.prompt(ctx)
        return
    store(ctx, plan, slot, AnswerValue(skipped=True))
    advance(ctx, plan)


def back(ctx: Ctx, plan: Plan) -> None:
    """/tillbaka: the question before the cursor."""
    slots = ctx.slots(plan)
    paths = [s.path for s in slots]
    cursor = plan.state.cursor
    index = paths.index(cursor) if cursor in paths else len(paths)
    if index == 0:
        ctx.say("back.first")
        asking.prompt(ctx)
        return
    plan.state.cursor = slots[index - 1].path
    plan.state.return_to = None
    ctx.touch(plan)  # a finished plan keeps its status; only the cursor moves
    asking.prompt(ctx)
