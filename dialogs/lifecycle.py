"""A plan's life: the greeting, creating and opening a plan, /paus, the end of a phase
(a handlingsplan is *planerad* and waits for its follow-up; a plan without follow-up is
*klar*), exporting, deleting."""

from __future__ import annotations

import uuid

from dialogs import asking, buttons, carry, followup, menus, personal_data, reminder_actions, review
from dialogs.commands import fold
from dialogs.context import Ctx, Plan, has_followup
from dialogs.state import Paused, PlanState, ResumeMenu
from dialogs.template import DocumentVariant, Phase, Template
from dialogs.types import Choice, Outbound, PlanRecord, PlanStatus

PLAN_NAMESPACE = uuid.UUID("8a1f7c52-2f6e-4a53-9a0e-5d1b8f0c3e21")


def on_start(ctx: Ctx) -> None:
    """/start, or a first message: the active plan (or the newest unfinished one) offered to
    resume, the plan list, or a first plan."""
    ctx.user.menu = None
    plan = ctx.active
    unfinished = [p for p in ctx.plans.values() if p.status is PlanStatus.IN_PROGRESS]
    if plan is None and unfinished:
        plan = max(unfinished, key=lambda p: p.updated_at)
        ctx.user.active = plan.id
    if plan is None and ctx.plans:
        ctx.say("welcome.back.heading")
        menus.plans_menu(ctx)
        return
    if plan is None:
        ctx.say("welcome.first")
        menus.new_plan_menu(ctx)
        return
    if plan.status is not PlanStatus.IN_PROGRESS:
        ctx.say("welcome.back.heading")
        if followup.due(plan, ctx.today):
            followup.offer(ctx, plan)
        else:
            asking.prompt(ctx)
        return
    template = ctx.template(plan)
    answered, total = ctx.counts(plan)
    ctx.user.menu = ResumeMenu()
    ctx.out.append(
        Outbound(
            heading=ctx.msg("welcome.back.heading"),
            text=ctx.msg(
                "welcome.back",
                title=ctx.title(plan),
                template=template.name,
                answered=answered,
                total=total,
                status=ctx.msg(f"status.{plan.status.value}"),
            ),
            choices=ctx.choices(
                [
                    (ctx.msg("button.resume"), buttons.RESUME),
                    (ctx.msg("button.new_plan"), buttons.NEW),
                    (ctx.msg("button.my_plans"), buttons.PLANS),
                ]
            ),
            is_question=True,
            accepts_text=False,
        )
    )


def on_text_without_plan(ctx: Ctx) -> None:
    if ctx.plans:
        on_start(ctx)
    else:
        ctx.say("welcome.first")
        menus.new_plan_menu(ctx)


def create_plan(ctx: Ctx, template: Template, source: Plan | None = None) -> None:
    seed = f"{ctx.snapshot.user.ref.channel}|{ctx.snapshot.user.ref.external_id}|"
    seed += f"{ctx.inbound.key if ctx.inbound else ''}|{len(ctx.plans)}"
    state = PlanState(phase=Phase.PLANNING, rev=0)
    record = PlanRecord(
        id=uuid.uuid5(PLAN_NAMESPACE, seed).hex,
        template_id=template.id,
        created_at=ctx.now,
        updated_at=ctx.now,
        state=state.dump(),
    )
    plan = Plan(record, state)
    ctx.plans[plan.id] = plan
    ctx.user.active = plan.id
    ctx.user.menu = None
    if source is not None:
        carry.carry_over(ctx, template, plan, source)
    plan.state.cursor = ctx.first_open(plan)
    ctx.touch(plan)
    if template.intro:
        ctx.out.append(Outbound(heading=template.name, text=template.intro.strip()))
    asking.prompt(ctx)


def switch_to(ctx: Ctx, plan: Plan) -> None:
    """Make `plan` the teacher's open plan (the one left keeps its cursor)."""
    previous = ctx.active
    if previous is not None and previous.id != plan.id:
        personal_data.drop(ctx, previous)  # a held answer does not wait in the plan left
    ctx.user.active = plan.id
    ctx.user.menu = None


def activate(ctx: Ctx, plan: Plan) -> None:
    switch_to(ctx, plan)
    if isinstance(plan.state.mode, Paused):
        plan.state.mode = None
    ctx.touch(plan)
    answered, total = ctx.counts(plan)
    ctx.say("plan.activated", title=ctx.title(plan), answered=answered, total=total)
    if followup.due(plan, ctx.today):
        followup.offer(ctx, plan)
        return
    asking.prompt(ctx)


def pause(ctx: Ctx, plan: Plan) -> None:
    """/paus: the plan waits (a long answer being collected stays collected)."""
    if plan.state.mode_name != "buffer":
        plan.state.mode = Paused()
    ctx.touch(plan)
    answered, total = ctx.counts(plan)
    ctx.say("pause.done", title=ctx.title(plan), answered=answered, total=total)


def resume_paused(ctx: Ctx, plan: Plan, text: str) -> bool:
    """Any text resumes a paused plan (and is not taken as an answer)."""
    plan.state.mode = None
    ctx.touch(plan)
    ctx.say("pause.resumed")
    asking.prompt(ctx)
    return True


def paused_prompt(ctx: Ctx, plan: Plan) -> None:
    ctx.say("pause.waiting")


def on_finished_plan_text(ctx: Ctx, plan: Plan) -> None:
    if followup.due(plan, ctx.today):
        followup.offer(ctx, plan)
        return
    asking.prompt(ctx)


def becomes_planned(ctx: Ctx, plan: Plan) -> bool:
    """Whether the end of this phase makes the plan *planerad* (else *klar*)."""
    return has_followup(ctx.template(plan)) and plan.state.phase is not Phase.FOLLOWUP


def phase_complete(ctx: Ctx, plan: Plan, *, confirmed: bool = False, ask: bool = True) -> None:
    """No question of the phase is left. A plan that would change status is first shown to
    the teacher for review (dialogs/review.py), whose yes comes back here confirmed."""
    was = plan.status
    status = PlanStatus.PLANNED if becomes_planned(ctx, plan) else PlanStatus.DONE
    if was is not status and not confirmed:
        review.start(ctx, plan)
        return
    plan.status = status
    ctx.touch(plan)
    if was is plan.status:
        asking.prompt(ctx)
        return
    ctx.say(
        "complete.planned" if plan.status is PlanStatus.PLANNED else "complete.done",
        title=ctx.title(plan),
        **reminder_actions.followup_words(ctx, plan),
    )
    export(ctx, plan)
    if ask:
        asking.prompt(ctx)


def export(
    ctx: Ctx,
    plan: Plan,
    variant: DocumentVariant | None = None,
    *,
    pdf: bool = False,
    docx: bool = True,
) -> None:
    """The plan's document at once (the template's default copy unless `variant`), with
    buttons for what else there is: the other copy, and this copy as a PDF. The common case
    (the default copy) costs no tap; any other document costs one. `docx=False` with `pdf`:
    only the PDF, the teacher has this copy's .docx already."""
    draft = not ctx.planning_complete(plan)
    chosen = variant or ctx.template(plan).document_variant
    other = DocumentVariant.CLEAN if chosen is DocumentVariant.WORKING else DocumentVariant.WORKING
    offers = [
        Choice(
            label=ctx.msg(f"button.export_{_COPY_BUTTON[other]}"),
            value=buttons.export_as(plan.id, other.value),
        )
    ]
    if not pdf:
        offers.append(
            Choice(
                label=ctx.msg("button.export_pdf"),
                value=buttons.export_as(plan.id, chosen.value, pdf=True),
            )
        )
    only_pdf = pdf and not docx
    ctx.out.append(
        Outbound(
            text=ctx.msg(
                "exported.pdf" if only_pdf else "exported.draft" if draft else "exported.final",
                draft=draft,
            ),
            note=ctx.msg("export.offer_note", copy=chosen.value, pdf=pdf),
            choices=tuple(offers),
            export_plan_id=plan.id,
            export_draft=draft,
            export_variant=None if variant is None else variant.value,
            export_pdf=pdf,
            export_docx=not only_pdf,
        )
    )


_COPY_BUTTON = {DocumentVariant.WORKING: "working", DocumentVariant.CLEAN: "clean"}


def export_command(ctx: Ctx, plan: Plan, argument: str) -> None:
    """/exportera, and typed wishes where there are no buttons (the terminal):
    "/exportera pdf", "/exportera inlämning", "/exportera arbetsexemplar pdf"."""
    variant: DocumentVariant | None = None
    pdf = False
    for word in fold(argument).replace(",", " ").split():
        if word.startswith("pdf"):
            pdf = True
        elif word.startswith(("inlamning", "ren")):
            variant = DocumentVariant.CLEAN
        elif word.startswith("arbet"):
            variant = DocumentVariant.WORKING
    export(ctx, plan, variant, pdf=pdf)
    asking.prompt(ctx)


def export_button(ctx: Ctx, plan: Plan, variant: str, pdf: bool) -> None:
    """A copy offered with a document: that copy; a PDF alone (its .docx was sent)."""
    export(ctx, plan, DocumentVariant(variant), pdf=pdf, docx=not pdf)


def delete_plan(ctx: Ctx, plan_id: str) -> None:
    plan = ctx.plans[plan_id]
    title = ctx.title(plan)
    del ctx.plans[plan_id]
    ctx.deleted.append(plan_id)
    ctx.touched.discard(plan_id)
    if ctx.user.active == plan_id:
        ctx.user.active = None
    ctx.say("delete.plan_done", title=title)
    if ctx.plans:
        menus.plans_menu(ctx)
    else:
        ctx.say("delete.none_left")


def delete_all(ctx: Ctx) -> None:
    ctx.delete_user = True
    ctx.deleted.extend(ctx.plans)
    ctx.plans.clear()
    ctx.touched.clear()
    ctx.user.active = None
    ctx.user.menu = None
    ctx.say("delete.all_done")
