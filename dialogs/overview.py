"""/oversikt: the whole plan as it stands, step by step and instance by instance, with what
is missing, and the teacher's plan summaries (Slack's App Home)."""

from __future__ import annotations

from dialogs.context import Ctx, Plan
from dialogs.present import frame_title, instance_name, short, shown
from dialogs.slots import Frame
from dialogs.types import Outbound

OVERVIEW_ANSWER_CHARS = 400


def overview(ctx: Ctx, plan: Plan) -> None:
    template = ctx.template(plan)
    msg = ctx.msg
    paragraphs: list[str] = []
    missing: list[str] = []
    step_title = None
    trail: tuple[Frame, ...] = ()
    for slot in ctx.slots(plan):
        if slot.is_more:
            continue
        assert slot.question is not None
        if slot.step.title != step_title:
            step_title = slot.step.title
            paragraphs.append(f"— {step_title} —")
            trail = ()
        for depth, frame in enumerate(slot.trail):
            if depth < len(trail) and trail[depth].path == frame.path:
                continue
            named = frame.item or instance_name(plan.answers, frame)
            name = f" – {short(named, 80)}" if named else ""
            paragraphs.append(f"▸ {frame_title(slot.trail[: depth + 1])}{name}")
        trail = slot.trail
        value = plan.answers.get(slot.path)
        if value is None:
            written = msg("overview.missing")
            if slot.question.required:
                missing.append(slot.breadcrumb())
        elif value.skipped:
            written = msg("overview.skipped")
        else:
            written = short(shown(msg, value), OVERVIEW_ANSWER_CHARS)
        paragraphs.append(f"{slot.breadcrumb()}:\n{written}")
    answered, total = ctx.counts(plan)
    summary = msg(
        "overview.summary",
        answered=answered,
        total=total,
        missing=missing,
        status=msg(f"status.{plan.status.value}"),
    )
    ctx.out.append(
        Outbound(
            heading=msg("overview.heading", title=plan.title or template.name),
            text="\n\n".join([*paragraphs, summary]),
        )
    )
