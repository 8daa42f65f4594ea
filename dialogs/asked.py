"""A question to the bot is not an answer.

"Vad menas med nulägesanalys här?" sent at the Nulägesanalys question is the teacher asking,
not answering. A message is read as such a question only when all of these hold, so that a
real answer is never held up:

* the question wants free text (at a date, a count or a choice, the validator already says
  what it understood or what it needs);
* the message is short (at most QUESTION_CHARS characters, one line);
* it ends with a question mark;
* it talks to the bot about the question ("vad menas", "betyder", "ska jag", "kan du ge ett
  exempel"), or it starts as a question ("vad", "hur", "vilken") about the question itself
  (it names it: "Vilken målgrupp menar ni?" at Målgrupp).

"Hur kan vi nå eleverna som är borta på måndagar?" at Nulägesanalys is none of these: it is
stored as the answer at once.

Then the help for the question is shown, the question is asked again, and a button keeps the
message as the answer after all (mode `asked`). Any other text is the answer as usual.
"""

from __future__ import annotations

import re

from dialogs import answering, asking, buttons
from dialogs.commands import fold
from dialogs.context import Ctx, Plan
from dialogs.state import Asked
from dialogs.template import AnswerType

QUESTION_CHARS = 120
_ASKING = re.compile(r"^(vad|vilk(en|et|a)|hur|varfor|menar|menas)\b")
_TO_THE_BOT = re.compile(
    r"\b(menas|menar du|betyder|innebar|ska jag|skall jag|maste jag|kan jag|behover jag|"
    r"far jag|vad skriver|hur skriver|skriva har|ett exempel|exempel pa|fragan)\b"
)
FREE = (AnswerType.TEXT, AnswerType.LONG_TEXT, AnswerType.LIST)


def reads_as_question(text: str, label: str) -> bool:
    """Whether `text`, sent at the question labelled `label`, asks about that question."""
    stripped = text.strip()
    if not stripped.endswith("?") or len(stripped) > QUESTION_CHARS or "\n" in stripped:
        return False
    folded = fold(stripped)
    if _TO_THE_BOT.search(folded):
        return True
    words = [w for w in re.findall(r"\w+", fold(label)) if len(w) > 2]
    return bool(_ASKING.match(folded)) and any(w in folded for w in words[:1])


def take(ctx: Ctx, plan: Plan, text: str) -> bool:
    slot = ctx.cursor_slot(plan)
    if slot is None or slot.question is None or slot.question.type not in FREE:
        return False
    if not reads_as_question(text, slot.question.short or slot.question.label):
        return False
    plan.state.mode = Asked(text=text.strip())
    ctx.touch(plan)
    asking.help_question(ctx, slot.question)
    asking.prompt(ctx)
    return True


def prompt(ctx: Ctx, plan: Plan) -> None:
    """The question again, with a button that keeps the held message as the answer."""
    mode = plan.state.mode
    slot = ctx.cursor_slot(plan)
    if not isinstance(mode, Asked) or slot is None or slot.question is None:
        plan.state.mode = None
        asking.prompt(ctx)
        return
    out = asking.question(ctx, plan, slot, reasked=False)
    keep = ctx.choices([(ctx.msg("button.asked_keep"), buttons.ASKED_KEEP)])
    ctx.out.append(
        out.model_copy(
            update={
                "choices": (*keep, *out.choices),
                "text": out.text + "\n\n" + ctx.msg("asked.held", text=mode.text),
            }
        )
    )


def on_text(ctx: Ctx, plan: Plan, text: str) -> bool:
    """Text after the help: the answer (the held question is dropped)."""
    plan.state.mode = None
    ctx.touch(plan)
    return False


def on_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    mode = plan.state.mode
    plan.state.mode = None
    ctx.touch(plan)
    if token == buttons.ASKED_KEEP and isinstance(mode, Asked):
        answering.answer(ctx, plan, mode.text)
        return True
    return False
