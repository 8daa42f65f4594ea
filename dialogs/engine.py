"""The dialog engine: (snapshot, inbound, now) → (changes, [outbound]). No I/O.

Theory of operation
-------------------
A teacher has plans; one is *active*. A plan's questions are its *slots* (dialogs/slots.py),
derived from the template, the plan's group instances and its answers. The plan state holds a
*cursor* (the slot being asked) and, at most, one *mode* that changes what the next message
means. The user state holds the active plan and, at most, one user-level *menu* (choose a plan,
choose a template, confirm a deletion, the resume offer). A command always wins over a mode.

Plan modes (plan.state["mode"]):

| mode          | what the next text means                     | leaves it                       |
|---------------|----------------------------------------------|---------------------------------|
| None          | the answer to the cursor's question          | —                               |
| "pii"         | a rephrased answer (keep / rephrase buttons) | keep stores; text re-validates  |
| "buffer"      | more of a long answer that came in pieces    | /klar validates and stores      |
| "andra"       | the number of the answered question to edit  | a pick moves the cursor there   |
| "paused"      | anything: resumes, shows the current question | any message                    |
| "remove_pick" | which instance to remove (a number)          | a pick asks "remove?"           |
| "remove"      | confirm removing a group instance            | ja removes, nej keeps           |

After a stored answer the cursor moves to the first unanswered slot after it (or the first
unanswered anywhere); after an /andra detour it returns to where the teacher was. When no slot
of the phase is left, a handlingsplan is *planerad* and its follow-up questions wait for the
follow-up date; a plan without follow-up questions is *klar*.

Nested groups: an *utvecklingsområde* holds *insatser*; `per` groups ask once per insats in a
later step and `each` groups once per item of a list answer (each goal). /tabort removes an
instance of a repeatable group (its id leaves plan.state["instances"]; its answers stay in the
history but leave the plan); /andra with a path ("Område 2 › Insats 1") lists only that part.

A template with `carry` (the slutredovisning) can start from one of the teacher's plans of
the source template: the mapped answers and the group instances are copied in as answers of
the new plan, so the engine skips them; each instance's carried answers are shown once, when
the dialog first reaches that instance.

Buttons carry a tag of the prompt they belong to ("t3f9a1c:ja"): a press on a button of an
earlier prompt (a double press, an old message) changes nothing and gets a short notice.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from dialogs import dates, validators
from dialogs.commands import MENU, Command, ParsedCommand, fold, parse_command
from dialogs.messages import Messages
from dialogs.slots import (
    MORE,
    Frame,
    Slot,
    instances_of,
    is_answered,
    plan_slots,
    schema_path,
)
from dialogs.template import AnswerType, Phase, Question, Template
from dialogs.types import (
    AnswerRecord,
    AnswerValue,
    Changes,
    Choice,
    Inbound,
    InboundKind,
    Outbound,
    PlanRecord,
    PlanStatus,
    PlanSummary,
    Snapshot,
)

# A message this long may be one piece of a longer text the platform split (Telegram splits
# at 4,096 characters): collect pieces until the teacher says /klar.
LONG_PIECE = 3500
OVERVIEW_ANSWER_CHARS = 400
PLAN_NAMESPACE = uuid.UUID("8a1f7c52-2f6e-4a53-9a0e-5d1b8f0c3e21")


@dataclass
class StepResult:
    changes: Changes
    outbounds: list[Outbound]
    plans: dict[str, PlanRecord]  # every plan of the user after the step (for export)


@dataclass
class _Ctx:
    """The working copy one step mutates; turned into Changes at the end."""

    snapshot: Snapshot
    inbound: Inbound | None
    now: dt.datetime
    user_state: dict[str, Any]
    plans: dict[str, PlanRecord]
    touched: set[str] = field(default_factory=set)
    answers: list[AnswerRecord] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    delete_user: bool = False
    out: list[Outbound] = field(default_factory=list)

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def active(self) -> PlanRecord | None:
        pid = self.user_state.get("active")
        return self.plans.get(pid) if isinstance(pid, str) else None

    def touch(self, plan: PlanRecord) -> None:
        plan.updated_at = self.now
        self.touched.add(plan.id)


class Engine:
    def __init__(self, templates: dict[str, Template], messages: Messages) -> None:
        if not templates:
            raise ValueError("the engine needs at least one template")
        for template in templates.values():
            for target, source in (template.carry.map if template.carry else {}).items():
                if target.rpartition(".")[0] != source.rpartition(".")[0]:
                    raise ValueError(
                        f"template {template.id!r}: carry.map {target!r} ← {source!r} must sit "
                        "in groups of the same ids"
                    )
        self.templates = templates
        self.msg = messages
        self._slot_cache: dict[tuple[Any, ...], list[Slot]] = {}

    # ------------------------------------------------------------------ public API

    def step(self, snapshot: Snapshot, inbound: Inbound, now: dt.datetime) -> StepResult:
        ctx = self._ctx(snapshot, inbound, now)
        self._dispatch(ctx, inbound)
        return self._result(ctx)

    def replay(self, snapshot: Snapshot, now: dt.datetime) -> list[Outbound]:
        """A repeated update: change nothing, ask the current question again."""
        ctx = self._ctx(snapshot, None, now)
        self._prompt(ctx)
        return ctx.out

    def summaries(self, snapshot: Snapshot) -> list[PlanSummary]:
        active = snapshot.user.state.get("active")
        rows = []
        for plan in sorted(snapshot.plans.values(), key=lambda p: p.updated_at, reverse=True):
            template = self.templates.get(plan.template_id)
            if template is None:
                continue
            answered, total = self._counts(template, plan)
            rows.append(
                PlanSummary(
                    id=plan.id,
                    title=plan.title or template.name,
                    template_id=template.id,
                    template_name=template.name,
                    status=plan.status,
                    answered=answered,
                    total=total,
                    updated_at=plan.updated_at,
                    active=plan.id == active,
                )
            )
        return rows

    def command_menu(self) -> list[tuple[str, str]]:
        return [(c.value, self.msg(f"command.{c.value}")) for c in MENU]

    # ------------------------------------------------------------------ plumbing

    def _ctx(self, snapshot: Snapshot, inbound: Inbound | None, now: dt.datetime) -> _Ctx:
        # The step mutates its own copies: answers are frozen values, so copying the dict
        # suffices; the state is small JSON and copied deeply.
        plans = {
            pid: p.model_copy(update={"state": copy.deepcopy(p.state), "answers": dict(p.answers)})
            for pid, p in snapshot.plans.items()
        }
        self._slot_cache.clear()
        return _Ctx(snapshot, inbound, now, copy.deepcopy(snapshot.user.state), plans)

    def _result(self, ctx: _Ctx) -> StepResult:
        changes = Changes(
            user_state=ctx.user_state,
            plans={pid: ctx.plans[pid] for pid in ctx.touched if pid in ctx.plans},
            answers=ctx.answers,
            deleted_plans=ctx.deleted,
            delete_user=ctx.delete_user,
        )
        return StepResult(changes, ctx.out, ctx.plans)

    def _template(self, plan: PlanRecord) -> Template:
        return self.templates[plan.template_id]

    def _say(self, ctx: _Ctx, key: str, **params: Any) -> None:
        ctx.out.append(Outbound(text=self.msg(key, **params)))

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, ctx: _Ctx, inbound: Inbound) -> None:
        if inbound.kind is InboundKind.START:
            self._on_start(ctx)
        elif inbound.kind is InboundKind.UNSUPPORTED:
            key = "unsupported.edited" if inbound.media == "edited" else "unsupported.media"
            # A kind of attachment without its own wording (a channel's new one) is "det här".
            media = f"media.{inbound.media}"
            self._say(ctx, key, media=self.msg(media if media in self.msg else "media.other"))
            self._prompt(ctx)
        elif inbound.kind is InboundKind.CHOICE:
            self._on_choice(ctx, inbound.choice)
        else:
            text = inbound.text
            parsed = parse_command(text)
            if parsed is not None:
                self._on_command(ctx, parsed)
            else:
                self._on_text(ctx, text)

    def _on_start(self, ctx: _Ctx) -> None:
        ctx.user_state.pop("menu", None)
        plan = ctx.active
        unfinished = [p for p in ctx.plans.values() if p.status is PlanStatus.IN_PROGRESS]
        if plan is None and unfinished:
            plan = max(unfinished, key=lambda p: p.updated_at)
            ctx.user_state["active"] = plan.id
        if plan is None and ctx.plans:
            self._say(ctx, "welcome.back.heading")
            self._plans_menu(ctx)
            return
        if plan is None:
            self._say(ctx, "welcome.first")
            self._new_plan_menu(ctx)
            return
        if plan.status is not PlanStatus.IN_PROGRESS:
            self._say(ctx, "welcome.back.heading")
            if plan.status is PlanStatus.PLANNED and self._followup_due(plan, ctx.today):
                self._offer_followup(ctx, plan)
            else:
                self._prompt(ctx)
            return
        template = self._template(plan)
        answered, total = self._counts(template, plan)
        ctx.user_state["menu"] = {"kind": "resume"}
        ctx.out.append(
            Outbound(
                heading=self.msg("welcome.back.heading"),
                text=self.msg(
                    "welcome.back",
                    title=plan.title or template.name,
                    template=template.name,
                    answered=answered,
                    total=total,
                    status=self.msg(f"status.{plan.status.value}"),
                ),
                choices=self._choices(
                    ctx,
                    [
                        (self.msg("button.resume"), "resume"),
                        (self.msg("button.new_plan"), "new"),
                        (self.msg("button.my_plans"), "plans"),
                    ],
                ),
                is_question=True,
                accepts_text=False,
            )
        )

    # ------------------------------------------------------------------ buttons

    def _tag(self, ctx: _Ctx) -> str:
        """Identifies the prompt a button belongs to: changes whenever the question does."""
        plan = ctx.active
        parts = [
            str(ctx.user_state.get("active")),
            # Key order is not kept by every database (PostgreSQL's JSONB sorts keys).
            json.dumps(ctx.user_state.get("menu"), sort_keys=True, default=str),
        ]
        if plan is not None:
            st = plan.state
            parts += [str(st.get("cursor")), str(st.get("mode")), str(st.get("rev", 0))]
        return format(zlib.crc32("|".join(parts).encode()) & 0xFFFFFF, "06x")

    def _choices(self, ctx: _Ctx, pairs: list[tuple[str, str]]) -> tuple[Choice, ...]:
        tag = self._tag(ctx)
        return tuple(Choice(label=label, value=f"t{tag}:{token}") for label, token in pairs)

    def _on_choice(self, ctx: _Ctx, value: str) -> None:
        # Buttons outside any conversation (Slack's App Home) name the plan themselves.
        head, _, rest = value.partition(":")
        if head == "open" and rest in ctx.plans:
            ctx.user_state.pop("menu", None)
            self._activate(ctx, ctx.plans[rest])
            return
        if head == "export" and rest in ctx.plans:
            self._export(ctx, ctx.plans[rest])
            return
        if value == "new":
            self._on_command(ctx, ParsedCommand(Command.NEW, "ny", ""))
            return
        if not head.startswith("t") or head[1:] != self._tag(ctx):
            ctx.out.append(Outbound(text=self.msg("stale_button"), notice=True))
            return
        self._on_token(ctx, rest, typed=False)

    def _on_token(self, ctx: _Ctx, token: str, *, typed: bool) -> None:
        menu = ctx.user_state.get("menu")
        if menu is not None:
            self._on_menu(ctx, menu, token)
            return
        plan = ctx.active
        if plan is None:
            self._prompt(ctx)
            return
        mode = plan.state.get("mode")
        if mode == "pii":
            self._on_pii(ctx, plan, token)
        elif mode == "buffer" and token == "done":
            self._finish_buffer(ctx, plan)
        elif mode == "andra" and token.startswith("a") and token[1:].isdecimal():
            self._pick_edit(ctx, plan, int(token[1:]))
        elif mode == "remove":
            self._on_remove(ctx, plan, token)
        elif mode == "remove_pick" and token.startswith("r") and token[1:].isdecimal():
            self._pick_remove(ctx, plan, int(token[1:]))
        elif mode == "followup_offer":
            self._on_followup_offer(ctx, plan, token)
        elif token == "keep":
            plan.state.pop("mode", None)
            self._advance(ctx, plan)
        elif token == "skip":
            self._skip(ctx, plan)
        elif token == "export":
            self._export(ctx, plan)
        elif token == "new":
            self._on_command(ctx, ParsedCommand(Command.NEW, "ny", ""))
        elif token.startswith("c") and token[1:].isdecimal():
            slot = self._cursor_slot(plan)
            if slot is None or slot.question is None:
                self._prompt(ctx)
                return
            index = int(token[1:])
            choices = slot.question.choices
            if index >= len(choices):
                self._prompt(ctx)
                return
            self._answer(ctx, plan, choices[index])
        elif token == "other":
            self._say(ctx, "choice.other")
        elif token in ("ja", "nej"):
            self._answer(ctx, plan, token)
        else:
            self._prompt(ctx)

    # ------------------------------------------------------------------ user-level menus

    def _on_menu(self, ctx: _Ctx, menu: dict[str, Any], token: str) -> None:
        kind = menu.get("kind")
        ctx.user_state.pop("menu", None)
        if kind == "resume":
            if token == "new":
                self._new_plan_menu(ctx)
            elif token == "plans":
                self._plans_menu(ctx)
            else:
                plan = ctx.active
                if plan is not None:
                    self._activate(ctx, plan)
                else:
                    self._prompt(ctx)
        elif kind == "plans":
            ids: list[str] = menu.get("ids", [])
            if token == "new":
                self._new_plan_menu(ctx)
            elif token.startswith("p") and token[1:].isdecimal() and int(token[1:]) < len(ids):
                self._activate(ctx, ctx.plans[ids[int(token[1:])]])
            else:
                ctx.user_state["menu"] = menu
                self._say(ctx, "menu.pick_number")
                self._prompt(ctx)
        elif kind == "templates":
            ids = menu.get("ids", [])
            if token.startswith("t") and token[1:].isdecimal() and int(token[1:]) < len(ids):
                self._start_template(ctx, self.templates[ids[int(token[1:])]])
            else:
                ctx.user_state["menu"] = menu
                self._say(ctx, "menu.pick_number")
                self._prompt(ctx)
        elif kind == "carry":
            ids = menu.get("ids", [])
            template = self.templates.get(str(menu.get("template")))
            if template is None:
                self._prompt(ctx)
            elif token == "blank":
                self._create_plan(ctx, template)
            elif token.startswith("f") and token[1:].isdecimal() and int(token[1:]) < len(ids):
                self._create_plan(ctx, template, source=ctx.plans.get(ids[int(token[1:])]))
            else:
                ctx.user_state["menu"] = menu
                self._say(ctx, "menu.pick_number")
                self._prompt(ctx)
        elif kind == "delete":
            target = menu.get("plan")
            if token == "del_plan" and target in ctx.plans:
                self._confirm_delete(ctx, "delete_plan", target)
            elif token == "del_all":
                self._confirm_delete(ctx, "delete_all", None)
            else:
                self._say(ctx, "delete.cancelled")
                self._prompt(ctx)
        elif kind == "delete_plan":
            target = menu.get("plan")
            if token == "yes" and target in ctx.plans:
                title = ctx.plans[target].title or self._template(ctx.plans[target]).name
                del ctx.plans[target]
                ctx.deleted.append(target)
                ctx.touched.discard(target)
                if ctx.user_state.get("active") == target:
                    ctx.user_state.pop("active", None)
                self._say(ctx, "delete.plan_done", title=title)
                self._after_delete(ctx)
            else:
                self._say(ctx, "delete.cancelled")
                self._prompt(ctx)
        elif kind == "delete_all":
            if token == "yes":
                ctx.delete_user = True
                ctx.deleted.extend(ctx.plans)
                ctx.plans.clear()
                ctx.touched.clear()
                ctx.user_state.clear()
                self._say(ctx, "delete.all_done")
            else:
                self._say(ctx, "delete.cancelled")
                self._prompt(ctx)
        else:
            self._prompt(ctx)

    def _after_delete(self, ctx: _Ctx) -> None:
        if ctx.plans:
            self._plans_menu(ctx)
        else:
            self._say(ctx, "delete.none_left")

    def _confirm_delete(self, ctx: _Ctx, kind: str, target: str | None) -> None:
        ctx.user_state["menu"] = {"kind": kind, "plan": target}
        if target is not None:
            plan = ctx.plans[target]
            text = self.msg("delete.confirm_plan", title=plan.title or self._template(plan).name)
        else:
            text = self.msg("delete.confirm_all", count=len(ctx.plans))
        ctx.out.append(
            Outbound(
                text=text,
                choices=self._choices(
                    ctx, [(self.msg("button.delete_yes"), "yes"), (self.msg("button.no"), "no")]
                ),
                is_question=True,
                accepts_text=False,
            )
        )

    def _plans_menu(self, ctx: _Ctx) -> None:
        plans = sorted(ctx.plans.values(), key=lambda p: p.updated_at, reverse=True)
        plans = [p for p in plans if p.template_id in self.templates]
        if not plans:
            self._say(ctx, "plans.none")
            self._new_plan_menu(ctx)
            return
        ctx.user_state["menu"] = {"kind": "plans", "ids": [p.id for p in plans]}
        lines = []
        pairs = []
        for i, plan in enumerate(plans):
            template = self._template(plan)
            answered, total = self._counts(template, plan)
            title = plan.title or template.name
            lines.append(
                self.msg(
                    "plans.line",
                    number=i + 1,
                    title=title,
                    template=template.name,
                    status=self.msg(f"status.{plan.status.value}"),
                    answered=answered,
                    total=total,
                    updated=dates.describe_period(plan.updated_at.date(), plan.updated_at.date()),
                )
            )
            pairs.append((_short(f"{i + 1}. {title}", 60), f"p{i}"))
        pairs.append((self.msg("button.new_plan"), "new"))
        ctx.out.append(
            Outbound(
                heading=self.msg("plans.heading"),
                text="\n".join(lines),
                note=self.msg("plans.note"),
                choices=self._choices(ctx, pairs),
                is_question=True,
                accepts_text=False,
            )
        )

    def _new_plan_menu(self, ctx: _Ctx) -> None:
        if len(self.templates) == 1:
            self._start_template(ctx, next(iter(self.templates.values())))
            return
        ids = list(self.templates)
        ctx.user_state["menu"] = {"kind": "templates", "ids": ids}
        lines = [
            self.msg("templates.line", number=i + 1, name=t.name, description=t.description)
            for i, t in enumerate(self.templates.values())
        ]
        ctx.out.append(
            Outbound(
                heading=self.msg("templates.heading"),
                text="\n".join(lines),
                choices=self._choices(
                    ctx, [(t.name, f"t{i}") for i, t in enumerate(self.templates.values())]
                ),
                is_question=True,
                accepts_text=False,
            )
        )

    def _carry_sources(self, ctx: _Ctx, template: Template) -> list[PlanRecord]:
        if template.carry is None:
            return []
        found = [p for p in ctx.plans.values() if p.template_id == template.carry.source]
        return sorted(found, key=lambda p: p.updated_at, reverse=True)

    def _start_template(self, ctx: _Ctx, template: Template) -> None:
        """A new plan; one that can start from another plan first offers the teacher's."""
        sources = self._carry_sources(ctx, template)
        if not sources:
            self._create_plan(ctx, template)
            return
        ctx.user_state["menu"] = {
            "kind": "carry",
            "template": template.id,
            "ids": [p.id for p in sources],
        }
        source_name = self.templates[sources[0].template_id].name
        pairs = [
            (
                _short(
                    self.msg("button.carry_from", title=p.title or source_name, source=source_name),
                    60,
                ),
                f"f{i}",
            )
            for i, p in enumerate(sources)
        ]
        pairs.append((self.msg("button.carry_blank"), "blank"))
        ctx.out.append(
            Outbound(
                heading=template.name,
                text=self.msg("carry.offer", template=template.name, source=source_name),
                choices=self._choices(ctx, pairs),
                is_question=True,
                accepts_text=False,
            )
        )

    def _create_plan(self, ctx: _Ctx, template: Template, source: PlanRecord | None = None) -> None:
        seed = f"{ctx.snapshot.user.ref.channel}|{ctx.snapshot.user.ref.external_id}|"
        seed += f"{ctx.inbound.key if ctx.inbound else ''}|{len(ctx.plans)}"
        plan = PlanRecord(
            id=uuid.uuid5(PLAN_NAMESPACE, seed).hex,
            template_id=template.id,
            created_at=ctx.now,
            updated_at=ctx.now,
            state={"phase": Phase.PLANNING.value, "rev": 0},
        )
        ctx.plans[plan.id] = plan
        ctx.user_state["active"] = plan.id
        ctx.user_state.pop("menu", None)
        if source is not None:
            self._carry_over(ctx, template, plan, source)
        plan.state["cursor"] = self._first_open(template, plan)
        ctx.touch(plan)
        if template.intro:
            ctx.out.append(Outbound(heading=template.name, text=template.intro.strip()))
        self._prompt(ctx)

    def _carry_over(
        self, ctx: _Ctx, template: Template, plan: PlanRecord, source: PlanRecord
    ) -> None:
        """Copy the source plan's group instances and mapped answers into the new plan, as
        answers of its own (appended to the history): the dialog then skips them."""
        assert template.carry is not None
        source_template = self.templates[source.template_id]
        repeatable = {
            path for path, item in template.walk() if getattr(item, "repeat", False) is True
        }
        instances = {
            key: list(ids)
            for key, ids in source.state.get("instances", {}).items()
            if schema_path(key) in repeatable
        }
        plan.state["instances"] = instances
        plan.state["next_instance"] = int(source.state.get("next_instance", 2))
        targets = {src: dst for dst, src in template.carry.map.items()}
        carried: list[str] = []
        for slot in plan_slots(source_template, source.state, source.answers):
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
        plan.state["carried"] = carried
        plan.state["carried_from"] = source.title or source_template.name
        plan.state["carried_template"] = source_template.name
        plan.state["carried_shown"] = []

    def _show_carried(self, ctx: _Ctx, plan: PlanRecord, slot: Slot) -> None:
        """ "Från åtgärdsplanen: …" – once per instance, when the dialog first reaches it."""
        carried = plan.state.get("carried")
        if not carried:
            return
        shown: list[str] = plan.state.setdefault("carried_shown", [])
        slots = {s.path: s for s in self._slots(plan)}
        for depth in range(len(slot.trail) + 1):
            scope = slot.trail[depth - 1].path if depth else ""
            if scope in shown:
                continue
            prefix = scope + "." if scope else ""
            here = [
                slots[p]
                for p in carried
                if p in slots and p.startswith(prefix) and "[" not in p[len(prefix) :]
            ]
            if not here:
                continue
            shown.append(scope)
            ctx.touch(plan)
            where = slot.trail[depth - 1] if depth else None
            ctx.out.append(
                Outbound(
                    heading=self.msg(
                        "carry.shown_heading",
                        source=plan.state.get("carried_from", ""),
                        source_name=plan.state.get("carried_template", ""),
                        where=self._frame_title(slot.trail[:depth]) if where else "",
                    ),
                    text="\n\n".join(
                        f"{(s.question.short or s.question.label) if s.question else s.label}:\n"
                        f"{self._shown(plan.answers[s.path])}"
                        for s in here
                    ),
                    note=self.msg("carry.shown_note"),
                )
            )

    def _frame_title(self, trail: tuple[Frame, ...]) -> str:
        """ "Område 2 › Insats 1" for the innermost instance of a trail."""
        return " › ".join(f.crumb for f in trail)

    def _activate(self, ctx: _Ctx, plan: PlanRecord) -> None:
        ctx.user_state["active"] = plan.id
        ctx.user_state.pop("menu", None)
        if plan.state.get("mode") == "paused":
            plan.state.pop("mode", None)
        ctx.touch(plan)
        template = self._template(plan)
        answered, total = self._counts(template, plan)
        self._say(
            ctx,
            "plan.activated",
            title=plan.title or template.name,
            answered=answered,
            total=total,
        )
        if plan.status is PlanStatus.PLANNED and self._followup_due(plan, ctx.today):
            self._offer_followup(ctx, plan)
            return
        self._prompt(ctx)

    # ------------------------------------------------------------------ commands

    def _on_command(self, ctx: _Ctx, parsed: ParsedCommand) -> None:
        command = parsed.command
        if command is None:
            self._say(ctx, "command.unknown", name=parsed.name)
            self._say(ctx, "help.commands")
            return
        plan = ctx.active
        if (
            command
            not in (
                Command.DONE,
                Command.CANCEL,
                Command.HELP,
                Command.OVERVIEW,
                Command.EXPORT,
                Command.PAUSE,
            )
            and plan is not None
            and plan.state.get("mode") == "buffer"
        ):
            self._say(ctx, "buffer.finish_first")
            self._prompt(ctx)
            return
        if command not in (Command.HELP,):
            ctx.user_state.pop("menu", None)
        if (
            plan is not None
            and plan.state.get("mode")
            in (
                "andra",
                "remove",
                "remove_pick",
                "followup_offer",
            )
            and command not in (Command.HELP, Command.OVERVIEW, Command.EXPORT)
        ):
            plan.state.pop("mode", None)
            ctx.touch(plan)
        if plan is not None and plan.state.get("mode") == "paused":
            plan.state.pop("mode", None)
            ctx.touch(plan)

        if command is Command.START:
            self._on_start(ctx)
        elif command is Command.HELP:
            self._help(ctx)
        elif command is Command.NEW:
            self._new_plan_menu(ctx)
        elif command is Command.PLANS:
            self._plans_menu(ctx)
        elif command is Command.DELETE:
            self._delete_menu(ctx)
        elif plan is None:
            self._say(ctx, "no_active_plan")
            self._prompt(ctx)
        elif command is Command.BACK:
            self._back(ctx, plan)
        elif command is Command.SKIP:
            self._skip(ctx, plan)
        elif command is Command.EDIT:
            self._edit_menu(ctx, plan, parsed.argument)
        elif command is Command.REMOVE:
            self._remove_menu(ctx, plan, parsed.argument)
        elif command is Command.OVERVIEW:
            self._overview(ctx, plan)
            self._prompt(ctx)
        elif command is Command.EXPORT:
            self._export(ctx, plan)
            self._prompt(ctx)
        elif command is Command.PAUSE:
            self._pause(ctx, plan)
        elif command is Command.DONE:
            if plan.state.get("mode") == "buffer":
                self._finish_buffer(ctx, plan)
            else:
                self._say(ctx, "buffer.nothing")
                self._prompt(ctx)
        elif command is Command.CANCEL:
            if plan.state.get("mode") == "buffer":
                plan.state.pop("mode", None)
                plan.state.pop("buffer", None)
                ctx.touch(plan)
                self._say(ctx, "buffer.cancelled")
            self._prompt(ctx)
        elif command is Command.FOLLOWUP:
            self._start_followup(ctx, plan)

    def _help(self, ctx: _Ctx) -> None:
        plan = ctx.active
        slot = self._cursor_slot(plan) if plan is not None else None
        if slot is not None and slot.question is not None:
            q = slot.question
            ctx.out.append(
                Outbound(
                    heading=self.msg("help.heading", label=q.label),
                    text=self.msg(
                        "help.question",
                        help=q.help or q.prompt,
                        guidance=q.guidance or "",
                        example=q.example or "",
                        optional=not q.required,
                        type_hint=self.msg(f"type_hint.{q.type.value}"),
                    ),
                )
            )
        self._say(ctx, "help.commands")
        self._prompt(ctx)

    def _delete_menu(self, ctx: _Ctx) -> None:
        plan = ctx.active
        ctx.user_state["menu"] = {"kind": "delete", "plan": plan.id if plan else None}
        pairs = []
        if plan is not None:
            pairs.append((self.msg("button.delete_plan"), "del_plan"))
        pairs += [(self.msg("button.delete_all"), "del_all"), (self.msg("button.cancel"), "no")]
        title = (plan.title or self._template(plan).name) if plan else ""
        ctx.out.append(
            Outbound(
                text=self.msg("delete.menu", title=title, has_plan=plan is not None),
                choices=self._choices(ctx, pairs),
                is_question=True,
                accepts_text=False,
            )
        )

    def _pause(self, ctx: _Ctx, plan: PlanRecord) -> None:
        if plan.state.get("mode") != "buffer":
            plan.state["mode"] = "paused"
        ctx.touch(plan)
        template = self._template(plan)
        answered, total = self._counts(template, plan)
        self._say(
            ctx, "pause.done", title=plan.title or template.name, answered=answered, total=total
        )

    def _back(self, ctx: _Ctx, plan: PlanRecord) -> None:
        slots = self._slots(plan)
        cursor = plan.state.get("cursor")
        paths = [s.path for s in slots]
        index = paths.index(cursor) if cursor in paths else len(paths)
        if index == 0:
            self._say(ctx, "back.first")
            self._prompt(ctx)
            return
        target = slots[index - 1]
        plan.state["cursor"] = target.path
        plan.state.pop("return_to", None)
        ctx.touch(plan)  # a finished plan keeps its status; only the cursor moves
        self._prompt(ctx)

    def _skip(self, ctx: _Ctx, plan: PlanRecord) -> None:
        slot = self._cursor_slot(plan)
        if slot is None:
            self._prompt(ctx)
            return
        if slot.is_more:
            self._answer(ctx, plan, "nej")
            return
        assert slot.question is not None
        if slot.question.required:
            self._say(ctx, "skip.required", label=slot.question.label)
            self._prompt(ctx)
            return
        self._store(ctx, plan, slot, AnswerValue(skipped=True))
        self._advance(ctx, plan)

    def _edit_menu(self, ctx: _Ctx, plan: PlanRecord, argument: str) -> None:
        slots = [s for s in self._slots(plan) if not s.is_more and s.path in plan.answers]
        if not slots:
            self._say(ctx, "edit.nothing")
            self._prompt(ctx)
            return
        where = _path_words(argument)
        if where and not argument.strip().isdecimal():
            # "/andra Område 2 › Insats 1": only that part of the plan
            inside = [s for s in slots if _path_words(s.breadcrumb()).startswith(where)]
            if not inside:
                self._say(ctx, "edit.no_such_part", part=argument.strip())
            elif len(inside) == 1:
                plan.state["mode"] = "andra"
                plan.state["edit_list"] = [inside[0].path]
                self._pick_edit(ctx, plan, 0)
                return
            else:
                slots = inside
        if argument.strip().isdecimal() and 1 <= int(argument) <= len(slots):
            plan.state["mode"] = "andra"
            plan.state["edit_list"] = [s.path for s in slots]
            self._pick_edit(ctx, plan, int(argument) - 1)
            return
        plan.state["mode"] = "andra"
        plan.state["edit_list"] = [s.path for s in slots]
        ctx.touch(plan)
        lines = [
            self.msg(
                "edit.line",
                number=i + 1,
                label=s.breadcrumb(),
                answer=_short(self._shown(plan.answers[s.path]), 60),
            )
            for i, s in enumerate(slots)
        ]
        ctx.out.append(
            Outbound(
                heading=self.msg("edit.heading"),
                text="\n".join(lines),
                note=self.msg("edit.note"),
                choices=self._choices(
                    ctx,
                    [
                        (_short(f"{i + 1}. {s.breadcrumb()}", 60), f"a{i}")
                        for i, s in enumerate(slots)
                    ],
                ),
                is_question=True,
            )
        )

    def _removable(self, plan: PlanRecord) -> list[tuple[tuple[Frame, ...], Frame]]:
        """Instances of repeatable groups that have a sibling (the last one stays), in order,
        each with the trail down to it."""
        found: dict[str, tuple[tuple[Frame, ...], Frame]] = {}
        for slot in self._slots(plan):
            for depth, frame in enumerate(slot.trail):
                if (
                    frame.group.repeat
                    and frame.path not in found
                    and len(instances_of(plan.state, frame.group_path)) > 1
                ):
                    found[frame.path] = (slot.trail[: depth + 1], frame)
        return list(found.values())

    def _remove_target(self, plan: PlanRecord, trail: tuple[Frame, ...]) -> dict[str, str]:
        frame = trail[-1]
        name = self._instance_name(plan, frame)
        label = self._frame_title(trail) + (f" ({_short(name, 60)})" if name else "")
        return {"group": frame.group_path, "id": frame.instance_id, "label": label}

    def _instance_name(self, plan: PlanRecord, frame: Frame) -> str:
        if frame.group.name_field is None:
            return ""
        value = plan.answers.get(f"{frame.path}.{frame.group.name_field}")
        return "" if value is None or value.skipped else " ".join(value.text.split())

    def _remove_menu(self, ctx: _Ctx, plan: PlanRecord, argument: str) -> None:
        """/tabort: the instance named (a number or "Område 2 › Insats 1"), the one the
        teacher is in, or a list to choose from; then a confirmation."""
        removable = self._removable(plan)
        if not removable:
            self._say(ctx, "remove.nothing")
            self._prompt(ctx)
            return
        chosen: tuple[Frame, ...] | None = None
        wanted = _path_words(argument)
        if argument.strip().isdecimal():
            index = int(argument.strip()) - 1
            chosen = removable[index][0] if 0 <= index < len(removable) else None
        elif wanted:
            exact = [t for t, _ in removable if _path_words(self._frame_title(t)) == wanted]
            chosen = exact[0] if len(exact) == 1 else None
        else:
            cursor = self._cursor_slot(plan)
            paths = {frame.path for _, frame in removable}
            inner = [f for f in (cursor.trail if cursor else ()) if f.path in paths]
            if inner and cursor is not None:
                chosen = cursor.trail[: cursor.trail.index(inner[-1]) + 1]
        if chosen is not None:
            plan.state["mode"] = "remove"
            plan.state["remove"] = self._remove_target(plan, chosen)
            ctx.touch(plan)
            self._remove_confirm(ctx, plan)
            return
        if wanted and not argument.strip().isdecimal():
            self._say(ctx, "edit.no_such_part", part=argument.strip())
        targets = [self._remove_target(plan, t) for t, _ in removable]
        plan.state["mode"] = "remove_pick"
        plan.state["remove_list"] = targets
        ctx.touch(plan)
        ctx.out.append(
            Outbound(
                heading=self.msg("remove.pick_heading"),
                text="\n".join(f"{i + 1}. {t['label']}" for i, t in enumerate(targets)),
                note=self.msg("remove.pick_note"),
                choices=self._choices(
                    ctx,
                    [
                        (_short(f"{i + 1}. {t['label']}", 60), f"r{i}")
                        for i, t in enumerate(targets)
                    ],
                ),
                is_question=True,
            )
        )

    def _pick_remove(self, ctx: _Ctx, plan: PlanRecord, index: int) -> None:
        targets: list[dict[str, str]] = plan.state.pop("remove_list", [])
        plan.state.pop("mode", None)
        ctx.touch(plan)
        if not 0 <= index < len(targets):
            self._say(ctx, "menu.pick_number")
            self._prompt(ctx)
            return
        plan.state["mode"] = "remove"
        plan.state["remove"] = targets[index]
        self._remove_confirm(ctx, plan)

    def _remove_confirm(self, ctx: _Ctx, plan: PlanRecord) -> None:
        target = plan.state.get("remove") or {}
        ctx.out.append(
            Outbound(
                heading=self.msg("remove.heading"),
                text=self.msg("remove.confirm", label=target.get("label", "")),
                choices=self._choices(
                    ctx, [(self.msg("button.remove_yes"), "ja"), (self.msg("button.no"), "nej")]
                ),
                is_question=True,
                accepts_text=False,
            )
        )

    def _pick_edit(self, ctx: _Ctx, plan: PlanRecord, index: int) -> None:
        paths: list[str] = plan.state.get("edit_list", [])
        plan.state.pop("mode", None)
        plan.state.pop("edit_list", None)
        if not 0 <= index < len(paths):
            self._say(ctx, "menu.pick_number")
            self._prompt(ctx)
            return
        cursor = plan.state.get("cursor")
        if cursor != paths[index] and "return_to" not in plan.state:
            plan.state["return_to"] = cursor
        plan.state["cursor"] = paths[index]
        ctx.touch(plan)
        self._prompt(ctx)

    def _overview(self, ctx: _Ctx, plan: PlanRecord) -> None:
        template = self._template(plan)
        slots = self._slots(plan)
        paragraphs: list[str] = []
        missing: list[str] = []
        step_title = None
        trail: tuple[Frame, ...] = ()
        for slot in slots:
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
                named = frame.item or self._instance_name(plan, frame)
                name = f" – {_short(named, 80)}" if named else ""
                paragraphs.append(f"▸ {self._frame_title(slot.trail[: depth + 1])}{name}")
            trail = slot.trail
            value = plan.answers.get(slot.path)
            if value is None:
                shown = self.msg("overview.missing")
                if slot.question.required:
                    missing.append(slot.breadcrumb())
            elif value.skipped:
                shown = self.msg("overview.skipped")
            else:
                shown = _short(self._shown(value), OVERVIEW_ANSWER_CHARS)
            paragraphs.append(f"{slot.breadcrumb()}:\n{shown}")
        answered, total = self._counts(template, plan)
        summary = self.msg(
            "overview.summary",
            answered=answered,
            total=total,
            missing=missing,
            status=self.msg(f"status.{plan.status.value}"),
        )
        ctx.out.append(
            Outbound(
                heading=self.msg("overview.heading", title=plan.title or template.name),
                text="\n\n".join([*paragraphs, summary]),
            )
        )

    def _export(self, ctx: _Ctx, plan: PlanRecord) -> None:
        draft = not self._planning_complete(plan)
        ctx.out.append(
            Outbound(
                text=self.msg("exported.draft" if draft else "exported.final"),
                export_plan_id=plan.id,
                export_draft=draft,
            )
        )

    # ------------------------------------------------------------------ follow-up

    def _followup_due(self, plan: PlanRecord, today: dt.date) -> bool:
        due = plan.state.get("followup_date")
        return isinstance(due, str) and dt.date.fromisoformat(due) <= today

    def _offer_followup(self, ctx: _Ctx, plan: PlanRecord) -> None:
        plan.state["mode"] = "followup_offer"
        ctx.touch(plan)
        ctx.out.append(
            Outbound(
                text=self.msg("followup.offer", title=plan.title),
                choices=self._choices(
                    ctx,
                    [(self.msg("button.followup_now"), "now"), (self.msg("button.later"), "later")],
                ),
                is_question=True,
                accepts_text=False,
            )
        )

    def _on_followup_offer(self, ctx: _Ctx, plan: PlanRecord, token: str) -> None:
        plan.state.pop("mode", None)
        ctx.touch(plan)
        if token == "now":
            self._start_followup(ctx, plan)
        else:
            plan.state["followup_snoozed"] = ctx.today.isoformat()
            self._say(ctx, "followup.later")

    def _start_followup(self, ctx: _Ctx, plan: PlanRecord) -> None:
        template = self._template(plan)
        if not any(
            isinstance(item, Question) and item.phase is Phase.FOLLOWUP
            for _, item in template.walk()
        ):
            self._say(ctx, "followup.none")
            self._prompt(ctx)
            return
        if plan.status is PlanStatus.IN_PROGRESS:
            self._say(ctx, "followup.not_yet")
            self._prompt(ctx)
            return
        plan.state["phase"] = Phase.FOLLOWUP.value
        plan.state["cursor"] = self._first_open(template, plan)
        if plan.state["cursor"] is None:
            plan.status = PlanStatus.DONE
        ctx.touch(plan)
        self._say(ctx, "followup.start")
        self._prompt(ctx)

    # ------------------------------------------------------------------ answers

    def _on_text(self, ctx: _Ctx, text: str) -> None:
        menu = ctx.user_state.get("menu")
        if menu is not None:
            token = self._token_from_text(ctx, menu, text)
            if token is not None:
                self._on_menu(ctx, menu, token)
                return
            if menu.get("kind") in ("resume",):
                ctx.user_state.pop("menu", None)
                plan = ctx.active
                if plan is not None:
                    self._activate(ctx, plan)
                    return
            self._say(ctx, "menu.pick_number")
            self._prompt(ctx)
            return
        plan = ctx.active
        if plan is None:
            if ctx.plans:
                self._on_start(ctx)
            else:
                self._say(ctx, "welcome.first")
                self._new_plan_menu(ctx)
            return
        mode = plan.state.get("mode")
        if mode == "paused":
            plan.state.pop("mode", None)
            ctx.touch(plan)
            self._say(ctx, "pause.resumed")
            self._prompt(ctx)
            return
        if mode == "buffer":
            self._add_to_buffer(ctx, plan, text)
            return
        if mode == "andra":
            stripped = text.strip().rstrip(".")
            if stripped.isdecimal():
                self._pick_edit(ctx, plan, int(stripped) - 1)
                return
            plan.state.pop("mode", None)
            plan.state.pop("edit_list", None)
        if mode == "remove_pick":
            stripped = text.strip().rstrip(".")
            if stripped.isdecimal():
                self._pick_remove(ctx, plan, int(stripped) - 1)
                return
            plan.state.pop("mode", None)
            plan.state.pop("remove_list", None)
        if mode in ("remove", "followup_offer"):
            yes = validators.parse_choice(_YESNO, text)
            if mode == "remove" and yes is not None:
                self._on_remove(ctx, plan, yes)
                return
            if mode == "followup_offer" and yes is not None:
                self._on_followup_offer(ctx, plan, "now" if yes == "ja" else "later")
                return
            plan.state.pop("mode", None)
        if mode == "pii":
            plan.state.pop("mode", None)
            plan.state.pop("pending", None)
        if plan.state.get("cursor") is None:
            self._on_finished_plan_text(ctx, plan)
            return
        slot = self._cursor_slot(plan)
        if slot is not None and slot.question is not None:
            keep_label = self.msg("button.keep")
            keep = len(text) < 2 * len(keep_label) and fold(text.strip()) == fold(keep_label)
            if keep and slot.path in plan.answers:
                self._advance(ctx, plan)
                return
            if slot.question.type in (AnswerType.LONG_TEXT, AnswerType.LIST) and (
                len(text) >= LONG_PIECE
            ):
                plan.state["mode"] = "buffer"
                plan.state["buffer"] = text
                ctx.touch(plan)
                self._buffer_prompt(ctx, plan)
                return
        self._answer(ctx, plan, text)

    def _token_from_text(self, ctx: _Ctx, menu: dict[str, Any], text: str) -> str | None:
        """Menus answered by typing: a number, or a yes/no for confirmations."""
        kind = menu.get("kind")
        stripped = text.strip().rstrip(".")
        if kind in ("delete_plan", "delete_all"):
            yes = validators.parse_choice(_YESNO, text)
            return None if yes is None else ("yes" if yes == "ja" else "no")
        if kind in ("plans", "templates") and stripped.isdecimal():
            prefix = "p" if kind == "plans" else "t"
            return f"{prefix}{int(stripped) - 1}"
        if kind == "carry" and stripped.isdecimal():
            index = int(stripped) - 1
            return "blank" if index == len(menu.get("ids", [])) else f"f{index}"
        if kind == "resume":
            folded = fold(stripped)
            for token, key in (
                ("resume", "button.resume"),
                ("new", "button.new_plan"),
                ("plans", "button.my_plans"),
            ):
                if folded == fold(self.msg(key)):
                    return token
            if folded in ("ja", "j", "fortsatt"):
                return "resume"
        if kind == "delete":
            folded = fold(stripped)
            for token, key in (
                ("del_plan", "button.delete_plan"),
                ("del_all", "button.delete_all"),
                ("no", "button.cancel"),
            ):
                if folded == fold(self.msg(key)):
                    return token
            if stripped.isdecimal():
                options = (["del_plan"] if menu.get("plan") else []) + ["del_all", "no"]
                index = int(stripped) - 1
                return options[index] if 0 <= index < len(options) else None
        return None

    def _on_finished_plan_text(self, ctx: _Ctx, plan: PlanRecord) -> None:
        if plan.status is PlanStatus.PLANNED and self._followup_due(plan, ctx.today):
            self._offer_followup(ctx, plan)
            return
        self._prompt(ctx)

    def _answer(self, ctx: _Ctx, plan: PlanRecord, text: str, *, pii_ok: bool = False) -> None:
        slot = self._cursor_slot(plan)
        if slot is None:
            self._prompt(ctx)
            return
        if slot.is_more:
            yes = validators.parse_choice(_YESNO, text)
            if yes is None:
                self._say(ctx, "invalid.bad_yesno")
                self._prompt(ctx)
                return
            self._answer_more(ctx, plan, slot, yes == "ja")
            return
        assert slot.question is not None
        result = validators.validate(slot.question, text, ctx.today)
        if isinstance(result, validators.Invalid):
            ctx.out.append(
                Outbound(
                    text=self.msg("invalid." + result.reason, **result.params),
                    note=self.msg("reask.example", example=slot.question.example)
                    if slot.question.example
                    else None,
                )
            )
            self._prompt(ctx, reasked=True)
            return
        if not pii_ok:
            found = validators.personal_data(result.text)
            if found:
                plan.state["mode"] = "pii"
                plan.state["pending"] = {
                    "path": slot.path,
                    "value": result.model_dump(mode="json"),
                    "kinds": found,
                }
                ctx.touch(plan)
                self._prompt(ctx)
                return
        self._store(ctx, plan, slot, result)
        self._advance(ctx, plan)

    def _on_pii(self, ctx: _Ctx, plan: PlanRecord, token: str) -> None:
        pending = plan.state.pop("pending", None)
        plan.state.pop("mode", None)
        ctx.touch(plan)
        slot = self._cursor_slot(plan)
        if token == "pii_keep" and pending and slot is not None and slot.path == pending["path"]:
            self._store(ctx, plan, slot, AnswerValue.model_validate(pending["value"]))
            self._advance(ctx, plan)
            return
        self._say(ctx, "pii.rephrase")
        self._prompt(ctx)

    def _add_to_buffer(self, ctx: _Ctx, plan: PlanRecord, text: str) -> None:
        so_far = str(plan.state.get("buffer", ""))
        joiner = "" if so_far.endswith(("\n", " ")) or text.startswith(("\n", " ")) else "\n"
        plan.state["buffer"] = so_far + joiner + text
        ctx.touch(plan)
        self._buffer_prompt(ctx, plan)

    def _buffer_prompt(self, ctx: _Ctx, plan: PlanRecord) -> None:
        ctx.out.append(
            Outbound(
                text=self.msg("buffer.received", length=len(str(plan.state.get("buffer", "")))),
                choices=self._choices(ctx, [(self.msg("button.done"), "done")]),
                is_question=True,
            )
        )

    def _finish_buffer(self, ctx: _Ctx, plan: PlanRecord) -> None:
        text = str(plan.state.pop("buffer", ""))
        plan.state.pop("mode", None)
        ctx.touch(plan)
        cursor = plan.state.get("cursor")
        rev = plan.state.get("rev")
        self._answer(ctx, plan, text)
        rejected = plan.state.get("rev") == rev and plan.state.get("mode") is None
        if rejected and plan.state.get("cursor") == cursor and text:
            # Rejected (e.g. too long): keep the text so nothing the teacher wrote is lost.
            plan.state["draft_text"] = text

    def _answer_more(self, ctx: _Ctx, plan: PlanRecord, slot: Slot, yes: bool) -> None:
        self._store(
            ctx, plan, slot, AnswerValue(text="ja" if yes else "nej", choice="ja" if yes else "nej")
        )
        if yes:
            instances = plan.state.setdefault("instances", {})
            ids = instances_of(plan.state, slot.group_path)
            new_id = str(int(plan.state.get("next_instance", 2)))
            plan.state["next_instance"] = int(new_id) + 1
            instances[slot.group_path] = [*ids, new_id]
            first_new = f"{slot.group_path}[{new_id}]."
            for candidate in self._slots(plan):
                if candidate.path.startswith(first_new):
                    plan.state["cursor"] = candidate.path
                    ctx.touch(plan)
                    self._prompt(ctx)
                    return
        self._advance(ctx, plan)

    def _on_remove(self, ctx: _Ctx, plan: PlanRecord, token: str) -> None:
        target = plan.state.pop("remove", None)
        plan.state.pop("mode", None)
        ctx.touch(plan)
        if token in ("ja", "yes") and isinstance(target, dict):
            group_path, instance_id = target["group"], target["id"]
            ids = instances_of(plan.state, group_path)
            if instance_id in ids and len(ids) > 1:
                was_last = ids[-1] == instance_id
                ids.remove(instance_id)
                plan.state.setdefault("instances", {})[group_path] = ids
                done = plan.answers.get(f"{group_path}[{instance_id}].{MORE}")
                if was_last and done is not None and done.choice == "nej":
                    # The "no more" moves to the new last one: removing asks nothing new.
                    path = f"{group_path}[{ids[-1]}].{MORE}"
                    plan.answers[path] = done
                    ctx.answers.append(
                        AnswerRecord(plan_id=plan.id, path=path, value=done, created_at=ctx.now)
                    )
                self._say(ctx, "remove.done", label=target.get("label", ""))
                cursor = plan.state.get("cursor")
                live = {s.path for s in self._slots(plan)}
                if cursor is not None and cursor not in live:
                    plan.state["cursor"] = self._first_open(self._template(plan), plan)
                if plan.state.get("return_to") not in live:
                    plan.state.pop("return_to", None)
            else:
                self._say(ctx, "remove.last")
        else:
            self._say(ctx, "remove.cancelled")
        self._prompt(ctx)

    def _store(self, ctx: _Ctx, plan: PlanRecord, slot: Slot, value: AnswerValue) -> None:
        plan.answers[slot.path] = value
        plan.state["rev"] = int(plan.state.get("rev", 0)) + 1
        plan.state.pop("draft_text", None)
        ctx.answers.append(
            AnswerRecord(plan_id=plan.id, path=slot.path, value=value, created_at=ctx.now)
        )
        template = self._template(plan)
        q = slot.question
        if q is not None and not slot.trail:
            if q.id == template.title_field and not value.skipped:
                plan.title = value.text
            if q.followup_date and value.start is not None:
                plan.state["followup_date"] = (value.end or value.start).isoformat()
        ctx.touch(plan)

    def _advance(self, ctx: _Ctx, plan: PlanRecord) -> None:
        template = self._template(plan)
        slots = self._slots(plan)
        paths = [s.path for s in slots]
        cursor = plan.state.get("cursor")
        back = plan.state.pop("return_to", None)
        nxt: str | None = None
        if (
            isinstance(back, str)
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
            nxt = self._first_open(template, plan)
        plan.state["cursor"] = nxt
        ctx.touch(plan)
        if nxt is None:
            self._phase_complete(ctx, plan)
            return
        self._prompt(ctx)

    def _phase_complete(self, ctx: _Ctx, plan: PlanRecord) -> None:
        template = self._template(plan)
        has_followup = any(
            isinstance(item, Question) and item.phase is Phase.FOLLOWUP
            for _, item in template.walk()
        )
        in_followup = plan.state.get("phase") == Phase.FOLLOWUP.value
        was = plan.status
        if has_followup and not in_followup:
            plan.status = PlanStatus.PLANNED
        else:
            plan.status = PlanStatus.DONE
        ctx.touch(plan)
        if was is plan.status:
            self._prompt(ctx)
            return
        due = plan.state.get("followup_date")
        self._say(
            ctx,
            "complete.planned" if plan.status is PlanStatus.PLANNED else "complete.done",
            title=plan.title or template.name,
            followup=dates.describe_period(dt.date.fromisoformat(due), dt.date.fromisoformat(due))
            if isinstance(due, str)
            else "",
        )
        self._export(ctx, plan)
        self._prompt(ctx)

    # ------------------------------------------------------------------ asking

    def _prompt(self, ctx: _Ctx, *, reasked: bool = False) -> None:
        """Send what the teacher should answer now, given menus and modes."""
        menu = ctx.user_state.get("menu")
        if menu is not None:
            self._reprompt_menu(ctx, menu)
            return
        plan = ctx.active
        if plan is None:
            if ctx.plans:
                ctx.out.append(
                    Outbound(
                        text=self.msg("no_active_plan"),
                        choices=self._choices(
                            ctx,
                            [
                                (self.msg("button.my_plans"), "plans"),
                                (self.msg("button.new_plan"), "new"),
                            ],
                        ),
                    )
                )
                ctx.user_state["menu"] = {"kind": "resume"}
            else:
                self._say(ctx, "welcome.empty")
            return
        mode = plan.state.get("mode")
        if mode == "paused":
            self._say(ctx, "pause.waiting")
            return
        if mode == "buffer":
            self._buffer_prompt(ctx, plan)
            return
        if mode == "pii":
            pending = plan.state.get("pending") or {}
            kinds = [self.msg(f"pii.{k}") for k in pending.get("kinds", [])]
            ctx.out.append(
                Outbound(
                    heading=self.msg("pii.heading"),
                    text=self.msg("pii.warning", kinds=kinds),
                    choices=self._choices(
                        ctx,
                        [
                            (self.msg("button.pii_edit"), "pii_edit"),
                            (self.msg("button.pii_keep"), "pii_keep"),
                        ],
                    ),
                    is_question=True,
                    accepts_text=False,
                )
            )
            return
        if mode == "followup_offer":
            plan.state.pop("mode", None)
            self._offer_followup(ctx, plan)
            return
        if mode == "andra":
            plan.state.pop("mode", None)
            self._edit_menu(ctx, plan, "")
            return
        if mode == "remove":
            self._remove_confirm(ctx, plan)
            return
        if mode == "remove_pick":
            plan.state.pop("mode", None)
            self._remove_menu(ctx, plan, "")
            return
        slot = self._cursor_slot(plan)
        if slot is None:
            self._finished_prompt(ctx, plan)
            return
        self._show_carried(ctx, plan, slot)
        ctx.out.append(self._question(ctx, plan, slot, reasked=reasked))

    def _reprompt_menu(self, ctx: _Ctx, menu: dict[str, Any]) -> None:
        kind = menu.get("kind")
        ctx.user_state.pop("menu", None)
        if kind == "plans":
            self._plans_menu(ctx)
        elif kind == "templates":
            self._new_plan_menu(ctx)
        elif kind == "resume":
            self._on_start(ctx)
        elif kind == "delete":
            self._delete_menu(ctx)
        elif kind in ("delete_plan", "delete_all"):
            self._confirm_delete(ctx, kind, menu.get("plan"))
        elif kind == "carry":
            template = self.templates.get(str(menu.get("template")))
            if template is not None:
                self._start_template(ctx, template)

    def _finished_prompt(self, ctx: _Ctx, plan: PlanRecord) -> None:
        template = self._template(plan)
        due = plan.state.get("followup_date")
        ctx.out.append(
            Outbound(
                text=self.msg(
                    f"finished.{plan.status.value}",
                    title=plan.title or template.name,
                    followup=dates.describe_period(
                        dt.date.fromisoformat(due), dt.date.fromisoformat(due)
                    )
                    if isinstance(due, str)
                    else "",
                ),
                choices=self._choices(
                    ctx,
                    [(self.msg("button.export"), "export"), (self.msg("button.new_plan"), "new")],
                ),
                is_question=True,
                accepts_text=False,
            )
        )

    def _question(self, ctx: _Ctx, plan: PlanRecord, slot: Slot, *, reasked: bool) -> Outbound:
        pairs: list[tuple[str, str]] = []
        current = plan.answers.get(slot.path)
        if slot.is_more:
            assert slot.more_of is not None
            pairs = [(self.msg("button.yes"), "ja"), (self.msg("button.no"), "nej")]
            return Outbound(
                heading=slot.more_of.add_prompt,
                text=self.msg(
                    "more.text",
                    label=slot.more_of.label,
                    count=len(instances_of(plan.state, slot.group_path)),
                ),
                progress=self._progress(plan, slot),
                choices=self._choices(ctx, pairs),
                is_question=True,
                accepts_text=False,
            )
        q = slot.question
        assert q is not None
        if q.type is AnswerType.CHOICE:
            pairs += [(label, f"c{i}") for i, label in enumerate(q.choices)]
            if q.allow_other:
                pairs.append((self.msg("button.other"), "other"))
        elif q.type is AnswerType.YESNO:
            pairs += [(self.msg("button.yes"), "ja"), (self.msg("button.no"), "nej")]
        if current is not None and not reasked:
            pairs.append((self.msg("button.keep"), "keep"))
        if not q.required:
            pairs.append((self.msg("button.skip"), "skip"))
        heading = slot.breadcrumb() if slot.trail else q.label
        text = q.prompt
        inner = slot.trail[-1] if slot.trail else None
        if inner is not None and inner.item:
            label = inner.group.label
            if inner.group.per is not None:
                label = self._template(plan).group(inner.group.per).label
            text = self.msg("question.item", label=label, item=inner.item) + "\n\n" + text
        if current is not None and not current.skipped:
            text += "\n\n" + self.msg("question.current", answer=self._shown(current))
        draft = plan.state.get("draft_text")
        if isinstance(draft, str) and draft and current is None:
            text += "\n\n" + self.msg("question.draft_kept", length=len(draft))
        note_parts = []
        if not q.required:
            note_parts.append(self.msg("question.optional"))
        note_parts.append(self.msg(f"type_hint.{q.type.value}"))
        return Outbound(
            heading=heading,
            text=text,
            note=" ".join(p for p in note_parts if p),
            progress=self._progress(plan, slot),
            choices=self._choices(ctx, pairs),
            is_question=True,
        )

    def _progress(self, plan: PlanRecord, slot: Slot) -> str:
        template = self._template(plan)
        slots = self._slots(plan)
        questions = [s for s in slots if not s.is_more]
        number = next((i + 1 for i, s in enumerate(questions) if s.path == slot.path), None)
        if number is None:  # a "more" slot: count the question before it
            number = (
                sum(1 for s in slots[: slots.index(slot)] if not s.is_more) if slot in slots else 0
            )
        step_number = sum(1 for s in template.steps[: slot.step_index + 1] if s.numbered)
        return self.msg(
            "progress",
            numbered=slot.step.numbered,
            step=step_number,
            steps=template.numbered_steps,
            step_title=slot.step.title,
            number=number,
            total=len(questions),
        )

    # ------------------------------------------------------------------ helpers

    def _phases(self, plan: PlanRecord) -> tuple[Phase, ...]:
        if plan.state.get("phase") == Phase.FOLLOWUP.value:
            return (Phase.PLANNING, Phase.FOLLOWUP)
        return (Phase.PLANNING,)

    def _slots(self, plan: PlanRecord) -> list[Slot]:
        # Asked several times a step; the answers only change through _store, which bumps
        # "rev", and the instance lists are part of the key.
        key = (
            plan.id,
            plan.state.get("rev"),
            repr(plan.state.get("instances")),
            plan.state.get("phase"),
            len(plan.answers),
        )
        found = self._slot_cache.get(key)
        if found is None:
            found = plan_slots(self._template(plan), plan.state, plan.answers, self._phases(plan))
            self._slot_cache[key] = found
        return found

    def _cursor_slot(self, plan: PlanRecord) -> Slot | None:
        cursor = plan.state.get("cursor")
        if cursor is None:
            return None
        for slot in self._slots(plan):
            if slot.path == cursor:
                return slot
        return None

    def _first_open(self, template: Template, plan: PlanRecord) -> str | None:
        for slot in plan_slots(template, plan.state, plan.answers, self._phases(plan)):
            if not is_answered(slot, plan.answers):
                return slot.path
        return None

    def _planning_complete(self, plan: PlanRecord) -> bool:
        slots = plan_slots(self._template(plan), plan.state, plan.answers, (Phase.PLANNING,))
        return all(
            is_answered(s, plan.answers) or (s.question is not None and not s.question.required)
            for s in slots
            if not s.is_more
        )

    def _counts(self, template: Template, plan: PlanRecord) -> tuple[int, int]:
        slots = [
            s
            for s in plan_slots(template, plan.state, plan.answers, self._phases(plan))
            if not s.is_more
        ]
        return sum(1 for s in slots if s.path in plan.answers), len(slots)

    def _shown(self, value: AnswerValue) -> str:
        if value.skipped:
            return self.msg("overview.skipped")
        if value.items:
            return "\n".join(f"• {item}" for item in value.items)
        if value.start is not None and value.end is not None:
            written = dates.describe_period(value.start, value.end)
            return value.text if written == value.text else f"{value.text} ({written})"
        return value.text


_YESNO = Question(id="yesno", label="", prompt="", type=AnswerType.YESNO)


def _path_words(text: str) -> str:
    """ "Område 2 › Insats 1", "område 2 > insats 1" and "Omrade 2 Insats 1" alike."""
    return " ".join(fold(text).replace("›", " ").replace(">", " ").replace("/", " ").split())


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split()) if limit <= 80 else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
