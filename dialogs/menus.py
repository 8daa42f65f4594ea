"""The teacher-level menus (UserState.menu): the resume offer, the plan list, the template
list, the carry-over offer, /radera and its confirmations. A menu takes a button, or typed
text that names one (a number, a yes/no, a button's label); it closes on any choice."""

from __future__ import annotations

import re

from dialogs import asking, buttons, carry, dates, lifecycle
from dialogs.commands import fold
from dialogs.context import Ctx
from dialogs.present import numbered, yes_or_no
from dialogs.state import (
    CarryMenu,
    DeleteConfirm,
    DeleteMenu,
    Menu,
    PlansMenu,
    ResumeMenu,
    TemplatesMenu,
)
from dialogs.types import Outbound


def on_token(ctx: Ctx, menu: Menu, token: str) -> None:
    ctx.user.menu = None
    if isinstance(menu, ResumeMenu):
        if token == buttons.NEW:
            new_plan_menu(ctx)
        elif token == buttons.PLANS:
            plans_menu(ctx)
        else:
            plan = ctx.active
            if plan is not None:
                lifecycle.activate(ctx, plan)
            else:
                asking.prompt(ctx)
    elif isinstance(menu, PlansMenu):
        index = buttons.index_of(token, buttons.PLAN)
        if token == buttons.NEW:
            new_plan_menu(ctx)
        elif index is not None and index < len(menu.ids):
            lifecycle.activate(ctx, ctx.plans[menu.ids[index]])
        else:
            _again(ctx, menu)
    elif isinstance(menu, TemplatesMenu):
        index = buttons.index_of(token, buttons.TEMPLATE)
        if index is not None and index < len(menu.ids):
            carry.start_template(ctx, ctx.templates[menu.ids[index]])
        else:
            _again(ctx, menu)
    elif isinstance(menu, CarryMenu):
        index = buttons.index_of(token, buttons.CARRY)
        template = ctx.templates.get(menu.template)
        if template is None:
            asking.prompt(ctx)
        elif token == buttons.BLANK:
            lifecycle.create_plan(ctx, template)
        elif index is not None and index < len(menu.ids):
            lifecycle.create_plan(ctx, template, source=ctx.plans.get(menu.ids[index]))
        else:
            _again(ctx, menu)
    elif isinstance(menu, DeleteMenu):
        if token == buttons.DEL_PLAN and menu.plan in ctx.plans:
            confirm_delete(ctx, "delete_plan", menu.plan)
        elif token == buttons.DEL_ALL:
            confirm_delete(ctx, "delete_all", None)
        else:
            ctx.say("delete.cancelled")
            asking.prompt(ctx)
    elif isinstance(menu, DeleteConfirm):
        if token == buttons.YES and menu.kind == "delete_plan" and menu.plan in ctx.plans:
            lifecycle.delete_plan(ctx, menu.plan)
        elif token == buttons.YES and menu.kind == "delete_all":
            lifecycle.delete_all(ctx)
        else:
            ctx.say("delete.cancelled")
            asking.prompt(ctx)


def _again(ctx: Ctx, menu: Menu) -> None:
    ctx.user.menu = menu
    ctx.say("menu.pick_number")
    asking.prompt(ctx)


def on_text(ctx: Ctx, menu: Menu, text: str) -> None:
    token = token_from_text(ctx, menu, text)
    if token is None and not isinstance(menu, DeleteConfirm):  # a deletion wants a yes
        token = _by_name(ctx, menu, text)
    if token is not None:
        on_token(ctx, menu, token)
        return
    if isinstance(menu, ResumeMenu):
        ctx.user.menu = None
        plan = ctx.active
        if plan is not None:
            lifecycle.activate(ctx, plan)
            return
    ctx.say("menu.pick_number")
    asking.prompt(ctx)


def _by_name(ctx: Ctx, menu: Menu, text: str) -> str | None:
    """A button named by its label ("Åtgärdsplan", a plan's title without its number) or,
    where any other text is refused anyway, by the start of exactly one label ("åtgärd")."""
    from dialogs import editing, typed  # both reach this module through asking

    choices = typed.shown(ctx)
    names = [[c.label, re.sub(r"^\d+\.\s*", "", c.label)] for c in choices]
    index = editing.pick_by_name(text, names, prefix=not isinstance(menu, ResumeMenu))
    if index is None:
        return None
    parsed = buttons.parse(choices[index].value)
    return parsed.token if isinstance(parsed, buttons.Scoped) else None


def token_from_text(ctx: Ctx, menu: Menu, text: str) -> str | None:
    """Menus answered by typing: a number, a yes/no for confirmations, a button's label."""
    stripped = text.strip().rstrip(".")
    if isinstance(menu, DeleteConfirm):
        return yes_or_no(text)
    if isinstance(menu, PlansMenu | TemplatesMenu) and stripped.isdecimal():
        prefix = buttons.PLAN if isinstance(menu, PlansMenu) else buttons.TEMPLATE
        return f"{prefix}{int(stripped) - 1}"
    if isinstance(menu, CarryMenu) and stripped.isdecimal():
        index = int(stripped) - 1
        return buttons.BLANK if index == len(menu.ids) else f"{buttons.CARRY}{index}"
    if isinstance(menu, ResumeMenu):
        folded = fold(stripped)
        for token, key in (
            (buttons.RESUME, "button.resume"),
            (buttons.NEW, "button.new_plan"),
            (buttons.PLANS, "button.my_plans"),
        ):
            if folded == fold(ctx.msg(key)):
                return token
        if folded in ("ja", "j", "fortsatt"):
            return buttons.RESUME
    if isinstance(menu, DeleteMenu):
        folded = fold(stripped)
        for token, key in (
            (buttons.DEL_PLAN, "button.delete_plan"),
            (buttons.DEL_ALL, "button.delete_all"),
            (buttons.NO, "button.cancel"),
        ):
            if folded == fold(ctx.msg(key)):
                return token
        if stripped.isdecimal():
            options = ([buttons.DEL_PLAN] if menu.plan else []) + [buttons.DEL_ALL, buttons.NO]
            index = int(stripped) - 1
            return options[index] if 0 <= index < len(options) else None
    return None


def reprompt(ctx: Ctx) -> None:
    menu = ctx.user.menu
    ctx.user.menu = None
    if isinstance(menu, PlansMenu):
        plans_menu(ctx)
    elif isinstance(menu, TemplatesMenu):
        new_plan_menu(ctx)
    elif isinstance(menu, ResumeMenu):
        lifecycle.on_start(ctx)
    elif isinstance(menu, DeleteMenu):
        delete_menu(ctx)
    elif isinstance(menu, DeleteConfirm):
        confirm_delete(ctx, menu.kind, menu.plan)
    elif isinstance(menu, CarryMenu):
        template = ctx.templates.get(menu.template)
        if template is not None:
            carry.start_template(ctx, template)


def plans_menu(ctx: Ctx) -> None:
    plans = sorted(ctx.plans.values(), key=lambda p: p.updated_at, reverse=True)
    plans = [p for p in plans if p.template_id in ctx.templates]
    if not plans:
        ctx.say("plans.none")
        new_plan_menu(ctx)
        return
    ctx.user.menu = PlansMenu(ids=[p.id for p in plans])
    lines: list[str] = []
    titles: list[str] = []
    for i, plan in enumerate(plans):
        template = ctx.template(plan)
        answered, total = ctx.counts(plan)
        title = ctx.title(plan)
        lines.append(
            ctx.msg(
                "plans.line",
                number=i + 1,
                title=title,
                template=template.name,
                status=ctx.msg(f"status.{plan.status.value}"),
                answered=answered,
                total=total,
                updated=dates.describe_period(plan.updated_at.date(), plan.updated_at.date()),
            )
        )
        titles.append(title)
    pairs = [*numbered(titles, buttons.PLAN), (ctx.msg("button.new_plan"), buttons.NEW)]
    ctx.out.append(
        Outbound(
            heading=ctx.msg("plans.heading"),
            text="\n".join(lines),
            note=ctx.msg("plans.note"),
            choices=ctx.choices(pairs),
            is_question=True,
            accepts_text=False,
        )
    )


def new_plan_menu(ctx: Ctx) -> None:
    if len(ctx.templates) == 1:
        carry.start_template(ctx, next(iter(ctx.templates.values())))
        return
    ctx.user.menu = TemplatesMenu(ids=list(ctx.templates))
    templates = list(ctx.templates.values())
    lines = [
        ctx.msg("templates.line", number=i + 1, name=t.name, description=t.description)
        for i, t in enumerate(templates)
    ]
    ctx.out.append(
        Outbound(
            heading=ctx.msg("templates.heading"),
            text="\n".join(lines),
            choices=ctx.choices(
                [(t.name, buttons.indexed(buttons.TEMPLATE, i)) for i, t in enumerate(templates)]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def delete_menu(ctx: Ctx) -> None:
    plan = ctx.active
    ctx.user.menu = DeleteMenu(plan=plan.id if plan else None)
    pairs = []
    if plan is not None:
        pairs.append((ctx.msg("button.delete_plan"), buttons.DEL_PLAN))
    pairs += [
        (ctx.msg("button.delete_all"), buttons.DEL_ALL),
        (ctx.msg("button.cancel"), buttons.NO),
    ]
    title = (ctx.title(plan)) if plan else ""
    ctx.out.append(
        Outbound(
            text=ctx.msg("delete.menu", title=title, has_plan=plan is not None),
            choices=ctx.choices(pairs),
            is_question=True,
            accepts_text=False,
        )
    )


def confirm_delete(ctx: Ctx, kind: str, target: str | None) -> None:
    ctx.user.menu = DeleteConfirm(
        kind="delete_plan" if kind == "delete_plan" else "delete_all", plan=target
    )
    if target is not None:
        plan = ctx.plans[target]
        text = ctx.msg("delete.confirm_plan", title=ctx.title(plan))
    else:
        text = ctx.msg("delete.confirm_all", count=len(ctx.plans))
    ctx.out.append(
        Outbound(
            text=text,
            choices=ctx.choices(
                [
                    (ctx.msg("button.delete_yes"), buttons.YES),
                    (ctx.msg("button.no"), buttons.NO),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )
