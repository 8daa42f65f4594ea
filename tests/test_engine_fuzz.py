"""Generated conversations against the whole engine: crashes and broken promises that no
hand-written dialog would reach.

Hypothesis writes sequences of starts, typed texts, button presses (current, stale and
made up), photos, repeated updates and a second or a year passing, for one or two teachers
sharing one store, and after every event checks what a teacher relies on: a reply that says
something, buttons a platform accepts, nothing stored twice or lost, a cursor that points at
a real question, and the same question again after an answer that was refused.

CI runs a small, derandomized search (60 conversations, ~13 s of CPU); search deeper
locally, with new random conversations each run:
    HYPOTHESIS_PROFILE=deep python -m pytest tests/test_engine_fuzz.py   # 500, a few minutes
    HYPOTHESIS_PROFILE=hunt python -m pytest tests/test_engine_fuzz.py   # 2000
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings, target
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from dialogs.commands import _ALIASES, Command
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.slots import is_answered, plan_slots
from dialogs.store import MemoryStore
from dialogs.template import PROMPTS_DIR, Phase, load_templates
from dialogs.types import AnswerRecord, Changes, Inbound, InboundKind, Outbound, Snapshot, UserRef
from exports.docx import render_document
from tests.helpers import Clock

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=500,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "hunt",
    max_examples=2000,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TEMPLATES = load_templates()
TEACHERS = (
    UserRef(channel="fuzz", external_id="anna"),
    UserRef(channel="fuzz", external_id="bertil"),
)
_keys = itertools.count(1)

# ---------------------------------------------------------------- what a teacher may send

EXAMPLES = sorted(
    {
        str(item.example)
        for template in TEMPLATES.values()
        for _, item in template.walk()
        if getattr(item, "example", None)
    }
)
_WITH_ACCENTS = {
    "hjalp": "hjälp",
    "andra": "ändra",
    "oversikt": "översikt",
    "uppfoljning": "uppföljning",
    "hoppa over": "hoppa över",
    "fardig": "färdig",
    "ta bort omrade": "ta bort område",
    "ta bort utvecklingsomrade": "ta bort utvecklingsområde",
}
WORDS = sorted({c.value for c in Command} | set(_ALIASES))
COMMANDS = sorted(
    {f"/{w}" for w in WORDS}
    | {w for w in WORDS}
    | {f"/{_WITH_ACCENTS[w]}" for w in WORDS if w in _WITH_ACCENTS}
    | {_WITH_ACCENTS[w].capitalize() for w in WORDS if w in _WITH_ACCENTS}
    | {"/andra 2", "/tabort 1", "/ändra Område 1 › Insats 1", "/tabort Område 2", "/okänt"}
)
ODD_TEXTS = [
    "ja",
    "nej",
    "Ja",
    "NEJ",
    "",
    "   \n\t ",
    "👍",
    "Närvaron 📉 sjönk i åk 7 😟 men mentorerna 💪 följer upp ✅",
    "תלמידים רבים נעדרים בימי שני; الطلاب يتغيبون كثيرًا",
    "\u202eRTL override\u202c text",
    "Närvaron\x00 sjönk\x07 i åk\x1b 7 \ud800 under hösten",
    "{{ 7*7 }} och {% raw %}",
    "Eleven 811218-9876 har hög frånvaro sedan hösten.",
    "Närvaro " * 625,
    "Behåll svaret",
    "Annat",
    "vet ej",
    "²",
    "٣",
    "１",
    "/andra ²",
    "/tabort ³",
]
TEXTS = st.one_of(
    st.sampled_from(EXAMPLES),
    st.sampled_from(COMMANDS),
    st.sampled_from(ODD_TEXTS),
    st.integers(0, 30).map(str),
    st.text(max_size=40),
)
MEDIA = st.sampled_from(
    ["photo", "sticker", "voice", "audio", "video", "document", "edited", "other", "", "gif"]
)
WHO = st.integers(0, 1)
PRESS = st.one_of(
    st.tuples(st.just("latest"), st.integers(0, 40)),
    st.tuples(st.just("old"), st.integers(0, 400)),
    st.tuples(st.just("made_up"), st.text(max_size=12) | st.sampled_from(["new", "t000000:ja"])),
    st.tuples(st.just("open"), st.integers(0, 5)),
    st.tuples(st.just("export"), st.integers(0, 5)),
    # A reminder's buttons (and /paminnelser's), pressed whenever, on either teacher's plan.
    st.tuples(st.sampled_from(["rem:now", "rem:week", "rem:off", "rem:on"]), st.integers(0, 5)),
)
EVENT = st.one_of(
    st.tuples(st.just("start"), WHO),
    st.tuples(st.just("text"), WHO, TEXTS),
    st.tuples(st.just("text"), WHO, TEXTS),
    st.tuples(st.just("text"), WHO, st.sampled_from(EXAMPLES)),
    # A fitting answer to the question asked now, so that conversations reach far: more
    # instances, finished plans, follow-ups, a slutredovisning carried from a plan.
    st.tuples(st.just("answer"), WHO, st.integers(0, 3)),
    st.tuples(st.just("answer"), WHO, st.integers(0, 3)),
    st.tuples(st.just("answer"), WHO, st.integers(0, 3)),
    st.tuples(st.just("press"), WHO, PRESS),
    st.tuples(st.just("press"), WHO, PRESS),
    st.tuples(st.just("unsupported"), WHO, MEDIA),
    st.tuples(st.just("again"), WHO),
    st.tuples(st.just("year"), WHO),
    # A second passing: the next text may be in a burst after a free-text answer.
    st.tuples(st.just("second"), WHO),
)
CONVERSATIONS = st.lists(EVENT, min_size=1, max_size=100)


# ---------------------------------------------------------------- the world under test


class RecordingStore(MemoryStore):
    """The in-memory store, remembering what the last commit changed."""

    def __init__(self) -> None:
        super().__init__()
        self.last_changes: Changes | None = None

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        await super().commit(snapshot, changes, key)
        self.last_changes = changes


class RecordingMessages(Messages):
    """The real texts, remembering which keys a step used."""

    used: list[str]

    def __call__(self, key: str, **params: Any) -> str:
        self.used.append(key)
        return super().__call__(key, **params)


@dataclass
class World:
    store: RecordingStore = field(default_factory=RecordingStore)
    clock: Clock = field(default_factory=Clock)
    messages: RecordingMessages = field(
        default_factory=lambda: RecordingMessages.read("sv", PROMPTS_DIR / "messages")
    )
    seen: list[list[Outbound]] = field(default_factory=lambda: [[], []])
    last_inbound: list[Inbound | None] = field(default_factory=lambda: [None, None])
    history: list[AnswerRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.messages.used = []
        self.conversation = Conversation(
            self.store,
            TEMPLATES,
            render_document,
            messages=self.messages,
            clock=self.clock,
            burst_seconds=3,
        )

    def plans_of(self, who: int) -> list[str]:
        return sorted(pid for pid, (owner, _) in self.store.plans.items() if owner == TEACHERS[who])

    def inbound_for(self, event: tuple[Any, ...]) -> Inbound | None:
        kind, who = event[0], event[1]
        user = TEACHERS[who]
        key = f"fuzz:{next(_keys)}"
        if kind == "start":
            return Inbound(user=user, kind=InboundKind.START, key=key)
        if kind == "text":
            return Inbound(user=user, kind=InboundKind.TEXT, key=key, text=event[2])
        if kind == "unsupported":
            return Inbound(user=user, kind=InboundKind.UNSUPPORTED, key=key, media=event[2])
        if kind == "answer":
            return Inbound(
                user=user, kind=InboundKind.TEXT, key=key, text=self.fitting(who, event[2])
            )
        if kind == "again":
            return self.last_inbound[who]
        if kind == "press":
            how, arg = event[2]
            value = str(arg)
            if how in ("latest", "old"):
                outs = self.seen[who][-1:] if how == "latest" else self.seen[who][:-1]
                buttons = [c.value for batch in outs for o in batch for c in o.choices]
                value = buttons[arg % len(buttons)] if buttons else "t000000:ja"
            elif how in ("open", "export"):
                plans = self.plans_of(who) + self.plans_of(1 - who)
                value = f"{how}:{plans[arg % len(plans)] if plans else 'nothing'}"
            elif how.startswith("rem:"):
                plans = self.plans_of(who) + self.plans_of(1 - who)
                value = f"{how}:{plans[arg % len(plans)] if plans else 'nothing'}:{arg}"
            return Inbound(user=user, kind=InboundKind.CHOICE, key=key, choice=value)
        raise AssertionError(kind)

    def fitting(self, who: int, variant: int) -> str:
        """A valid answer to the active plan's current question; in a menu, a number."""
        user = self.store.users.get(TEACHERS[who])
        pid = user.state.get("active") if user else None
        if user is None or user.state.get("menu") or pid not in self.store.plans:
            return str(1 + variant % 2)
        plan = self.store.plans[pid][1]
        cursor = plan.state.get("cursor")
        slots = plan_slots(TEMPLATES[plan.template_id], plan.state, plan.answers, _phases(plan))
        for slot in slots:
            if slot.path != cursor:
                continue
            if slot.is_more:
                return "ja" if variant == 0 else "nej"
            assert slot.question is not None
            if slot.question.choices:
                return str(1 + variant % len(slot.question.choices))
            return slot.question.example or "ja"
        return "ja" if variant % 2 else "nej"


def _dump(store: MemoryStore) -> Any:
    return copy.deepcopy(
        (
            {ref: u.model_dump() for ref, u in store.users.items()},
            {pid: (ref, p.model_dump()) for pid, (ref, p) in store.plans.items()},
            [a.model_dump() for a in store.log],
            set(store.keys),
        )
    )


def _cursor_and_question(world: World, who: int) -> tuple[str | None, str | None]:
    """The active plan's cursor and the heading its question is shown with."""
    user = world.store.users.get(TEACHERS[who])
    pid = user.state.get("active") if user else None
    if pid not in world.store.plans:
        return None, None
    plan = world.store.plans[pid][1]
    cursor = plan.state.get("cursor")
    for slot in plan_slots(TEMPLATES[plan.template_id], plan.state, plan.answers, _phases(plan)):
        if slot.path == cursor:
            if slot.is_more:
                assert slot.more_of is not None
                return cursor, slot.more_of.add_prompt
            assert slot.question is not None
            return cursor, slot.breadcrumb() if slot.trail else slot.question.label
    return cursor, None


def _phases(plan: Any) -> tuple[Phase, ...]:
    if plan.state.get("phase") == Phase.FOLLOWUP.value:
        return (Phase.PLANNING, Phase.FOLLOWUP)
    return (Phase.PLANNING,)


async def play(events: list[tuple[Any, ...]]) -> None:
    world = World()
    for event in events:
        who = event[1]
        if event[0] == "year":
            world.clock.advance(days=365)
            continue
        if event[0] == "second":
            world.clock.advance(seconds=1)
            continue
        inbound = world.inbound_for(event)
        if inbound is None:
            continue
        repeated = inbound.key in world.store.keys
        before = _dump(world.store)
        cursor_before, _ = _cursor_and_question(world, who)
        world.messages.used = []
        world.store.last_changes = None

        outs = await world.conversation.handle(inbound)

        world.last_inbound[who] = inbound
        world.seen[who].append(outs)
        for out in outs:
            assert out.text.strip() or out.heading or out.document, out
            for choice in out.choices:
                assert len(choice.value.encode()) <= 64, choice
                assert len(choice.label) <= 75, choice
        if repeated:
            assert _dump(world.store) == before, "a repeated update changed the store"
            continue

        changes = world.store.last_changes
        deleted = set(changes.deleted_plans) if changes else set()
        if changes is not None and changes.delete_user:
            deleted |= {a.plan_id for a in world.history}
        world.history = [a for a in world.history if a.plan_id not in deleted]
        if changes is not None:
            world.history.extend(changes.answers)
        log = world.store.log
        missing = [a for a in world.history if a not in log]
        assert not missing, f"answers lost from the history: {missing}"
        for pid, (_, plan) in world.store.plans.items():
            latest = {a.path: a.value for a in log if a.plan_id == pid}
            for path, value in plan.answers.items():
                assert latest.get(path) == value, f"{path}: shown {value}, history {latest}"

        for ref in TEACHERS:
            user = world.store.users.get(ref)
            pid = user.state.get("active") if user else None
            if pid is None:
                continue
            assert pid in world.store.plans, f"the active plan {pid} is gone"
            plan = world.store.plans[pid][1]
            cursor = plan.state.get("cursor")
            template = TEMPLATES[plan.template_id]
            paths = [s.path for s in plan_slots(template, plan.state, plan.answers, _phases(plan))]
            assert cursor is None or cursor in paths, f"cursor {cursor!r} not among {paths}"

        if any(k.startswith("invalid.") for k in world.messages.used):
            cursor_after, heading = _cursor_and_question(world, who)
            assert cursor_after == cursor_before, "an invalid answer moved the cursor"
            asked = [o for o in outs if o.is_question]
            assert asked, "an invalid answer was not followed by the question"
            assert asked[-1].heading == heading, (asked[-1].heading, heading)

    for _, plan in world.store.plans.values():
        if plan.status.value == "klar":
            slots = plan_slots(TEMPLATES[plan.template_id], plan.state, plan.answers)
            unanswered = [x.path for x in slots if not is_answered(x, plan.answers)]
            assert not unanswered, f"a plan called klar still asks {unanswered}"

    # Steer the search toward long conversations that reach far into the plans.
    target(float(len(world.store.log)), label="answers stored")
    for _, plan in world.store.plans.values():
        hypothesis_event(f"{plan.template_id} {plan.status.value}")
        if any(len(ids) > 1 for ids in plan.state.get("instances", {}).values()):
            hypothesis_event("several instances")
        if plan.state.get("carried"):
            hypothesis_event("carried")


@settings(deadline=None)
@given(CONVERSATIONS)
def test_generated_conversations_keep_every_promise(events: list[tuple[Any, ...]]) -> None:
    asyncio.run(play(events))


def test_the_text_mix_covers_every_command_and_template_example() -> None:
    assert {f"/{c.value}" for c in Command} <= set(COMMANDS)
    assert len(EXAMPLES) > 30
