"""A long answer in several messages: paragraphs sent one by one, and additions made later.

On a phone people send paragraphs as separate messages. Two ways keep them one answer:

* **The burst.** A text that arrives within the burst window (`Ctx.burst`, the setting
  PLANBOT_BURST_SECONDS, 3 s by default; off in the terminal, where a pasted text is already
  one message) after a stored *free-text* answer (long text or a list) is added to that answer,
  after a blank line; the question the teacher had reached is asked again, with a note saying
  where the text went and a button to take it back as the answer to this question.
* **"Lägg till i förra svaret".** The question after a free-text answer offers that button
  (and /laggtill does the same any time): the next text is added to that answer, and the
  question is asked again.

Why this rule, and why it never loses a deliberate answer to the next question:

1. Only free-text answers are continued. After a date, a choice, a name or a yes/no, nothing
   is glued: a teacher who answers a short question and quickly the next one has answered
   two questions, and a continuation of "v. 12" makes no sense.
2. The window is seconds: the time to send the next paragraph already written, not to read
   the next question, think and type an answer. A message that comes later is an answer.
3. Where the next question is not free text (a date, a choice, a count...), a text that is a
   valid answer to it is that answer, burst or not: "v. 12" is the follow-up date, not a
   third paragraph of the analysis.
4. Only the message right after the answer: once anything else came in between (another
   answer, a button, a command, a sticker: the teacher's version moved on more than once),
   or a mode or menu is open, there is no burst.
5. Nor is a message that comes sooner than a person can send two (HUMAN_GAP, half a second):
   that is a program replaying a conversation as fast as the bot answers, one answer per
   question. (A long text the platform itself split arrives that fast too; its first piece
   is long enough for dialogs/long_answers.py to collect the rest.)
6. Nothing is lost if the rule guesses wrong: the reply says the text was added to the
   previous answer, and its "Det var svaret på …" button moves the piece back out and stores
   it as the answer to the current question.
"""

from __future__ import annotations

import datetime as dt

from dialogs import answering, asking, buttons, validators
from dialogs.context import Ctx, Plan
from dialogs.slots import Slot
from dialogs.state import Appending, LastLong
from dialogs.template import AnswerType
from dialogs.types import AnswerValue, Outbound

FREE_TEXT = (AnswerType.LONG_TEXT, AnswerType.LIST)
HUMAN_GAP = dt.timedelta(seconds=0.5)
JOINER = "\n\n"


def continues(slot: Slot | None) -> bool:
    """Whether an answer to this slot may go on in more messages."""
    return slot is not None and slot.question is not None and slot.question.type in FREE_TEXT


def remember(ctx: Ctx, plan: Plan, slot: Slot, value: AnswerValue) -> None:
    """Called for every stored answer: the newest free-text one is what a burst adds to."""
    if continues(slot) and not value.skipped and value.text:
        plan.state.last_long = LastLong(
            path=slot.path, at=ctx.now, rev=plan.state.rev, version=ctx.snapshot.user.version
        )
    else:
        plan.state.last_long = None


def _previous(ctx: Ctx, plan: Plan) -> tuple[LastLong, Slot] | None:
    last = plan.state.last_long
    if last is None or last.path not in plan.answers or last.path == plan.state.cursor:
        return None
    slot = next((s for s in ctx.slots(plan) if s.path == last.path), None)
    return (last, slot) if slot is not None and continues(slot) else None


def offers_append(ctx: Ctx, plan: Plan) -> str | None:
    """The label of the answer the current question's "Lägg till" button adds to, if any."""
    found = _previous(ctx, plan)
    if found is None or found[0].rev != plan.state.rev or plan.state.mode is not None:
        return None
    return found[1].breadcrumb()


def take(ctx: Ctx, plan: Plan, text: str) -> bool:
    """A text in a burst after a free-text answer: added to it. False when not a burst."""
    if ctx.burst.total_seconds() <= 0 or plan.state.mode is not None:
        return False
    found = _previous(ctx, plan)
    if found is None:
        return False
    last, slot = found
    if last.rev != plan.state.rev or not text.strip():
        return False
    if not HUMAN_GAP <= ctx.now - last.at <= ctx.burst:
        return False
    if last.version is not None and ctx.snapshot.user.version != last.version + 1:
        return False  # something else came in between (a button, a command): not a burst
    current = ctx.cursor_slot(plan)
    short = current.question if current is not None and not continues(current) else None
    if short is not None and not isinstance(
        validators.validate(short, text, ctx.today), validators.Invalid
    ):
        return False  # a valid answer to the next (short) question is that answer
    if validators.personal_data(text):
        return False  # the warning comes with the question it answers
    return _add(ctx, plan, slot, text, burst=True)


def _add(ctx: Ctx, plan: Plan, slot: Slot, text: str, *, burst: bool) -> bool:
    before = plan.answers[slot.path]
    assert slot.question is not None
    combined = before.text.rstrip() + JOINER + text.strip()
    result = validators.validate(slot.question, combined, ctx.today)
    if isinstance(result, validators.Invalid):
        if burst:
            return False
        ctx.out.append(Outbound(text=ctx.msg("invalid." + result.reason, **result.params)))
        asking.prompt(ctx)
        return True
    answering.store(ctx, plan, slot, result)
    if burst:
        last = plan.state.last_long
        if last is not None:
            plan.state.last_long = last.model_copy(
                update={"added": text.strip(), "before": before.text}
            )
    ctx.say(
        "burst.added" if burst else "append.added",
        label=slot.breadcrumb(),
        length=len(result.text),
    )
    asking.prompt(ctx)
    return True


def unglue(ctx: Ctx, plan: Plan) -> None:
    """ "Det var svaret på den här frågan": the piece a burst added goes back out of the
    previous answer and is the answer to the current question."""
    found = _previous(ctx, plan)
    if found is None or found[0].added is None or found[0].before is None:
        asking.prompt(ctx)
        return
    last, slot = found
    assert slot.question is not None and last.added is not None and last.before is not None
    restored = validators.validate(slot.question, last.before, ctx.today)
    if not isinstance(restored, validators.Invalid):
        answering.store(ctx, plan, slot, restored)
    plan.state.last_long = None
    answering.answer(ctx, plan, last.added)


def unglue_label(ctx: Ctx, plan: Plan) -> str | None:
    """The "it was the answer to this question" button, right after a burst added a piece."""
    found = _previous(ctx, plan)
    if found is None or found[0].added is None or found[0].rev != plan.state.rev:
        return None
    current = ctx.cursor_slot(plan)
    if current is None or current.question is None or plan.state.mode is not None:
        return None
    return ctx.msg("button.unglue", label=current.question.short or current.question.label)


# --------------------------------------------------------------------------- Lägg till


def start_append(ctx: Ctx, plan: Plan) -> None:
    """The button or /laggtill: the next text is added to the previous free-text answer."""
    found = _previous(ctx, plan)
    if found is None:
        ctx.say("append.nothing")
        asking.prompt(ctx)
        return
    plan.state.mode = Appending(path=found[1].path)
    ctx.touch(plan)
    asking.prompt(ctx)


def append_prompt(ctx: Ctx, plan: Plan) -> None:
    mode = plan.state.mode
    path = mode.path if isinstance(mode, Appending) else ""
    slot = next((s for s in ctx.slots(plan) if s.path == path), None)
    if slot is None or path not in plan.answers:
        plan.state.mode = None
        asking.prompt(ctx)
        return
    ctx.out.append(
        Outbound(
            heading=ctx.msg("append.heading", label=slot.breadcrumb()),
            text=ctx.msg("append.prompt", label=slot.breadcrumb()),
            choices=ctx.choices([(ctx.msg("button.cancel"), buttons.NO)]),
            is_question=True,
        )
    )


def append_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    mode = plan.state.mode
    assert isinstance(mode, Appending)
    plan.state.mode = None
    ctx.touch(plan)
    slot = next((s for s in ctx.slots(plan) if s.path == mode.path), None)
    if slot is None or mode.path not in plan.answers:
        asking.prompt(ctx)
        return True
    return _add(ctx, plan, slot, text, burst=False)


def append_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    plan.state.mode = None
    ctx.touch(plan)
    if token == buttons.NO:
        ctx.say("append.cancelled")
        asking.prompt(ctx)
        return True
    return False
