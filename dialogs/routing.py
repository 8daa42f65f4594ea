"""Routing: what an inbound message means, given the open menu and the plan's mode.

Two tables drive it, and the theory of operation in dialogs/engine.py is rendered from them:
`MODES` says per plan mode what typed text, a button and a command do, and how the mode asks
again; `COMMANDS` says per command whether it needs an active plan, whether it closes an open
menu, and what it runs. A new mode or command is one row here plus its handlers in its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dialogs import (
    answering,
    asked,
    asking,
    bursts,
    buttons,
    editing,
    followup,
    lifecycle,
    long_answers,
    menus,
    my_data,
    overview,
    personal_data,
    reminder_actions,
    removing,
    review,
    typed,
)
from dialogs.commands import Command, ParsedCommand, parse_command
from dialogs.context import Ctx, Plan
from dialogs.state import ModeName
from dialogs.types import Inbound, InboundKind, Outbound

# A handler returns True when the mode took the input; False passes it on (typed text is
# then the answer to the cursor's question, a button one of the question's own).
TakesText = Callable[[Ctx, Plan, str], bool]
TakesButton = Callable[[Ctx, Plan, str], bool]
Prompts = Callable[[Ctx, Plan], None]

ALL_COMMANDS = frozenset(Command)
_LOOKING = frozenset({Command.HELP, Command.OVERVIEW, Command.EXPORT})


def _no_button(ctx: Ctx, plan: Plan, token: str) -> bool:
    return False


@dataclass(frozen=True)
class ModeSpec:
    name: ModeName
    text: str  # what typed text means (for the table)
    button: str  # which buttons it takes (for the table)
    on_text: TakesText
    on_button: TakesButton
    prompt: Prompts
    keeps: frozenset[Command]  # commands that leave the mode in place
    refuses_others: bool = False  # other commands: refused (True) or end the mode (False)

    @property
    def command(self) -> str:
        """What a command does to the mode (for the table; L: the commands that only look)."""
        if self.keeps == ALL_COMMANDS:
            return "run, mode stays"
        rest = sorted(self.keeps - _LOOKING, key=list(Command).index)
        looks = ["L"] if self.keeps >= _LOOKING else []
        names = " ".join(looks + [f"/{c.value}" for c in rest])
        if self.refuses_others:
            return f"only {names}"
        return f"end it; {names} keep it" if names else "end it"


MODES: dict[ModeName, ModeSpec] = {
    spec.name: spec
    for spec in (
        ModeSpec(
            "paused",
            "resumes (not an answer)",
            "the question's",
            lifecycle.resume_paused,
            _no_button,
            lifecycle.paused_prompt,
            keeps=frozenset(),
        ),
        ModeSpec(
            "buffer",
            "one more piece",
            "Klar: pieces → answer",
            long_answers.add,
            long_answers.on_button,
            long_answers.prompt,
            keeps=frozenset({Command.DONE, Command.CANCEL, Command.PAUSE}) | _LOOKING,
            refuses_others=True,
        ),
        ModeSpec(
            "pii",
            "a rephrased answer",
            "keep, or rephrase",
            personal_data.on_text,
            personal_data.on_button,
            personal_data.prompt,
            # A command that leaves the warning drops the held text (it is stored nowhere).
            keeps=_LOOKING,
        ),
        ModeSpec(
            "andra",
            "label/number/prefix picks",
            "picks what to change",
            editing.on_text,
            editing.on_button,
            editing.prompt,
            keeps=_LOOKING,
        ),
        ModeSpec(
            "remove_pick",
            "label/number/prefix picks",
            "picks what to remove",
            removing.pick_text,
            removing.pick_button,
            removing.pick_prompt,
            keeps=_LOOKING,
        ),
        ModeSpec(
            "remove",
            "yes/no; else answer",
            "ja removes, nej keeps",
            removing.confirm_text,
            removing.on_confirm,
            removing.confirm,
            keeps=_LOOKING,
        ),
        ModeSpec(
            "followup_offer",
            "yes/no; else answer",
            "now, later (snoozes)",
            followup.on_text,
            followup.on_button,
            followup.reoffer,
            keeps=_LOOKING,
        ),
        ModeSpec(
            "append",
            "added to the answer",
            "Avbryt",
            bursts.append_text,
            bursts.append_button,
            bursts.append_prompt,
            keeps=_LOOKING,
        ),
        ModeSpec(
            "asked",
            "the answer",
            "keep the question",
            asked.on_text,
            asked.on_button,
            asked.prompt,
            keeps=_LOOKING,
        ),
        ModeSpec(
            "review",
            "yes/no; else asks again",
            "ja confirms, ändra",
            review.on_text,
            review.on_button,
            review.prompt,
            keeps=_LOOKING,
        ),
    )
}


def mode_table() -> str:
    """The modes × inbound kinds table, as the engine's docstring shows it."""
    rows = [
        ("mode", "typed text", "a button", "a command"),
        ("(menu open)", "number or label: picks", "picks", "close it; /hjalp not"),
        ("(none)", "burst, question or answer", "the question's", "run"),
        *((f"{s.name}", s.text, s.button, s.command) for s in MODES.values()),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class CommandSpec:
    command: Command
    run: Callable[[Ctx, Plan, str], None] | None = None  # needs an active plan
    run_any: Callable[[Ctx, str], None] | None = None  # works without one
    closes_menu: bool = True


def _then_prompt(action: Callable[[Ctx, Plan], None]) -> Callable[[Ctx, Plan, str], None]:
    def run(ctx: Ctx, plan: Plan, argument: str) -> None:
        action(ctx, plan)
        asking.prompt(ctx)

    return run


COMMANDS: dict[Command, CommandSpec] = {
    spec.command: spec
    for spec in (
        CommandSpec(Command.START, run_any=lambda ctx, _: lifecycle.on_start(ctx)),
        CommandSpec(Command.HELP, run_any=lambda ctx, _: asking.help_(ctx), closes_menu=False),
        CommandSpec(Command.NEW, run_any=lambda ctx, _: menus.new_plan_menu(ctx)),
        CommandSpec(Command.PLANS, run_any=lambda ctx, _: menus.plans_menu(ctx)),
        CommandSpec(Command.DELETE, run_any=lambda ctx, _: menus.delete_menu(ctx)),
        CommandSpec(Command.BACK, lambda ctx, plan, _: answering.back(ctx, plan)),
        CommandSpec(Command.SKIP, lambda ctx, plan, _: answering.skip(ctx, plan)),
        CommandSpec(Command.EDIT, editing.menu),
        CommandSpec(Command.REMOVE, removing.menu),
        CommandSpec(Command.OVERVIEW, _then_prompt(overview.overview)),
        CommandSpec(Command.EXPORT, lifecycle.export_command),
        CommandSpec(Command.PAUSE, lambda ctx, plan, _: lifecycle.pause(ctx, plan)),
        CommandSpec(Command.DONE, lambda ctx, plan, _: long_answers.on_done(ctx, plan)),
        CommandSpec(Command.CANCEL, lambda ctx, plan, _: long_answers.on_cancel(ctx, plan)),
        CommandSpec(Command.FOLLOWUP, lambda ctx, plan, _: followup.start(ctx, plan)),
        CommandSpec(Command.MY_DATA, run_any=lambda ctx, _: my_data.send(ctx)),
        CommandSpec(Command.REMINDERS, run_any=lambda ctx, _: reminder_actions.listing(ctx)),
        CommandSpec(Command.APPEND, lambda ctx, plan, _: bursts.start_append(ctx, plan)),
    )
}


# --------------------------------------------------------------------------- dispatch


def dispatch(ctx: Ctx, inbound: Inbound) -> None:
    if inbound.kind is InboundKind.START:
        lifecycle.on_start(ctx)
    elif inbound.kind is InboundKind.UNSUPPORTED:
        key = "unsupported.edited" if inbound.media == "edited" else "unsupported.media"
        # A kind of attachment without its own wording (a channel's new one) is "det här".
        media = f"media.{inbound.media}"
        ctx.say(key, media=ctx.msg(media if media in ctx.msg else "media.other"))
        asking.prompt(ctx)
    elif inbound.kind is InboundKind.CHOICE:
        on_choice(ctx, inbound.choice)
    else:
        parsed = parse_command(inbound.text)
        if parsed is not None:
            on_command(ctx, parsed)
        else:
            on_text(ctx, inbound.text)


def on_command(ctx: Ctx, parsed: ParsedCommand) -> None:
    command = parsed.command
    if command is None:
        if typed.mistyped(ctx, parsed.name):
            return
        ctx.say("command.unknown", name=parsed.name)
        ctx.say("help.commands")
        return
    spec = COMMANDS[command]
    plan = ctx.active
    if plan is not None and command is Command.FOLLOWUP and review.pending(ctx, plan):
        review.go_on(ctx, plan)
    mode = MODES[plan.state.mode.name] if plan is not None and plan.state.mode else None
    if plan is not None and mode is not None and command not in mode.keeps:
        if mode.refuses_others:
            ctx.say("buffer.finish_first")
            asking.prompt(ctx)
            return
        plan.state.mode = None
        ctx.touch(plan)
    if spec.closes_menu:
        ctx.user.menu = None
    if spec.run_any is not None:
        spec.run_any(ctx, parsed.argument)
    elif plan is None:
        ctx.say("no_active_plan")
        asking.prompt(ctx)
    elif spec.run is not None:
        spec.run(ctx, plan, parsed.argument)


def on_text(ctx: Ctx, text: str) -> None:
    if ctx.user.menu is not None:
        menus.on_text(ctx, ctx.user.menu, text)
        return
    plan = ctx.active
    if plan is None:
        lifecycle.on_text_without_plan(ctx)
        return
    if typed.press(ctx, plan, text):
        return
    if plan.state.mode is not None and MODES[plan.state.mode.name].on_text(ctx, plan, text):
        return
    if bursts.take(ctx, plan, text) or asked.take(ctx, plan, text):
        return
    answering.on_text(ctx, plan, text)


def on_choice(ctx: Ctx, value: str) -> None:
    parsed = buttons.parse(value)
    if isinstance(parsed, buttons.PlanAction) and parsed.plan_id in ctx.plans:
        # Buttons outside any conversation (Slack's App Home) name the plan themselves.
        plan = ctx.plans[parsed.plan_id]
        if parsed.action == buttons.OPEN_PLAN:
            ctx.user.menu = None
            lifecycle.activate(ctx, plan)
        else:
            lifecycle.export(ctx, plan)
        return
    if isinstance(parsed, buttons.ExportAs) and parsed.plan_id in ctx.plans:
        # A copy offered with a document (it names its plan, so it is never stale).
        lifecycle.export_button(ctx, ctx.plans[parsed.plan_id], parsed.variant, parsed.pdf)
        return
    if isinstance(parsed, buttons.ReminderPress):
        # Pressed days after the reminder came, whatever the teacher is doing meanwhile.
        reminder_actions.on_press(ctx, parsed)
        return
    if isinstance(parsed, buttons.NewPlan):
        on_command(ctx, ParsedCommand(Command.NEW, "ny", ""))
        return
    if not isinstance(parsed, buttons.Scoped) or parsed.tag != ctx.tag():
        ctx.out.append(Outbound(text=ctx.msg("stale_button"), notice=True))
        return
    on_token(ctx, parsed.token)


def on_token(ctx: Ctx, token: str) -> None:
    """A button of the current prompt."""
    if ctx.user.menu is not None:
        menus.on_token(ctx, ctx.user.menu, token)
        return
    plan = ctx.active
    if plan is None:
        asking.prompt(ctx)
        return
    if plan.state.mode is not None and MODES[plan.state.mode.name].on_button(ctx, plan, token):
        return
    choice = buttons.index_of(token, buttons.CHOICE)
    number = buttons.index_of(token, buttons.NUMBER)
    if token == buttons.KEEP:
        answering.keep(ctx, plan)
    elif token == buttons.SKIP:
        answering.skip(ctx, plan)
    elif token == buttons.EXPORT:
        lifecycle.export(ctx, plan)
    elif token == buttons.NEW:
        on_command(ctx, ParsedCommand(Command.NEW, "ny", ""))
    elif choice is not None:
        answering.on_choice_index(ctx, plan, choice)
    elif token == buttons.OTHER:
        ctx.say("choice.other")
    elif token in (buttons.YES, buttons.NO):
        answering.answer(ctx, plan, token)
    elif number is not None:
        answering.answer(ctx, plan, str(number))
    elif token == buttons.APPEND:
        bursts.start_append(ctx, plan)
    elif token == buttons.UNGLUE:
        bursts.unglue(ctx, plan)
    else:
        asking.prompt(ctx)
