"""Carry-over: a template with `carry` (the slutredovisning) can start from one of the
teacher's plans of the source template. The mapped answers and the group instances are copied
in as answers of the new plan, so the dialog skips them; each instance's carried answers are
shown once, when the dialog first reaches that instance."""

from __future__ import annotations

from dialogs import buttons, lifecycle
from dialogs.context import Ctx, Plan
from dialogs.present import frame_title, short, shown
from dialogs.slots import MORE, Slot, plan_slots, schema_path
from dialogs.state import CarryMenu
from dialogs.template import Template
from dialogs.types import AnswerRecord, Outbound


def sources(ctx: Ctx, template: Template) -> list[Plan]:
    if template.carry is None:
        return []
    found = [p for p in ctx.plans.values() if p.template_id == template.carry.source]
    return sorted(found, key=lambda p: p.updated_at, reverse=True)


def start_template(ctx: Ctx, template: Template) -> None:
    """A new plan; one that can start from another plan first offers the teacher's."""
    found = sources(ctx, template)
    if not found:
        lifecycle.create_plan(ctx, template)
        return
    ctx.user.menu = CarryMenu(template=template.id, ids=[p.id for p in found])
    source_name = ctx.templates[found[0].template_id].name
    pairs = [
        (
            short(
                ctx.msg("button.carry_from", title=p.title or source_name, source=source_name),
                60,
            ),
            buttons.indexed(buttons.CARRY, i),
        )
        for i, p in enumerate(found)
    ]
    pairs.append((ctx.msg("button.carry_blank"), buttons.BLANK))
    ctx.out.append(
        Outbound(
            heading=template.name,
            text=ctx.msg("carry.offer", template=template.name, source=source_name),
            choices=ctx.choices(pairs),
            is_question=True,
            accepts_text=False,
        )
    )


def carry_over(ctx: Ctx, template: Template, plan: Plan, source: Plan) -> None:
    """Copy the source plan's group instances and mapped answers into the new plan, as
    answers of its own (appended to the history): the dialog then skips them."""
    assert template.carry is not None
    source_template = ctx.templates[source.template_id]
    repeatable = {path for path, item in template.walk() if getattr(item, "repeat", False) is True}
    st = plan.state
    st.instances = {
        key: list(ids)
        for key, ids in source.state.instances.items()
        if schema_path(key) in repeatable
    }
    st.next_instance = source.state.next_instance
    targets = {src: dst for dst, src in template.carry.map.items()}
    carried: list[str] = []
    for slot in plan_slots(source_template, source.state.slot_view(), source.answers):
        value = source.answers.get(slot.path)
        if value is None or value.skipped:
            continue
        if slot.is_more:
            if schema_path(slot.group_path) not in repeatable or value.choice != "nej":
                continue
            path = slot.path
        else:
            target = targets.get(schema_path(slot.path))
            if target is None:
                continue
            path = slot.path.rpartition(".")[0]
            path = f"{path}.{target.rpartition('.')[2]}" if path else target
        plan.answers[path] = value
        ctx.answers.append(
            AnswerRecord(plan_id=plan.id, path=path, value=value, created_at=ctx.now)
        )
        if path == template.title_field:
            plan.title = value.text
        if not path.endswith(MORE):
            carried.append(path)
    st.carried = carried
    st.carried_from = source.title or source_template.name
    st.carried_template = source_template.name
    st.carried_plan = source.id
    st.carried_shown = []


def show_carried(ctx: Ctx, plan: Plan, slot: Slot) -> None:
    """ "Från åtgärdsplanen: …" – once per instance, when the dialog first reaches it."""
    st = plan.state
    if not st.carried:
        return
    shown_scopes = list(st.carried_shown or [])
    slots = {s.path: s for s in ctx.slots(plan)}
    for depth in range(len(slot.trail) + 1):
        scope = slot.trail[depth - 1].path if depth else ""
        if scope in shown_scopes:
            continue
        prefix = scope + "." if scope else ""
        here = [
            slots[p]
            for p in st.carried
            if p in slots and p.startswith(prefix) and "[" not in p[len(prefix) :]
        ]
        if not here:
            continue
        shown_scopes.append(scope)
        st.carried_shown = shown_scopes
        ctx.touch(plan)
        where = slot.trail[depth - 1] if depth else None
        ctx.out.append(
            Outbound(
                heading=ctx.msg(
                    "carry.shown_heading",
                    source=st.carried_from or "",
                    source_name=st.carried_template or "",
                    where=frame_title(slot.trail[:depth]) if where else "",
                ),
                text="\n\n".join(
                    f"{(s.question.short or s.question.label) if s.question else s.label}:\n"
                    f"{shown(ctx.msg, plan.answers[s.path])}"
                    for s in here
                ),
                note=ctx.msg("carry.shown_note"),
            )
        )
