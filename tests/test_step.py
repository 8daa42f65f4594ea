"""The engine's pure step, called directly: no store, no event loop. Also the typed state's
loader against states as the engine has always written them, the mode table against the
router, and the button grammar."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from dialogs import buttons, engine, routing
from dialogs.commands import Command
from dialogs.engine import Engine
from dialogs.messages import Messages
from dialogs.state import MODE_NAMES, PlanState, UserState
from dialogs.template import load_templates
from dialogs.types import (
    Changes,
    Inbound,
    InboundKind,
    Outbound,
    PlanRecord,
    Snapshot,
    UserRecord,
    UserRef,
)

TEMPLATES = load_templates()
ENGINE = Engine({"handlingsplan": TEMPLATES["handlingsplan"]}, Messages.load())
ANNA = UserRef(channel="test", external_id="anna")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
_count = iter(range(1, 10_000))


def inbound(kind: InboundKind = InboundKind.TEXT, **fields: str) -> Inbound:
    return Inbound(user=ANNA, kind=kind, key=f"k{next(_count)}", **fields)


def apply(snapshot: Snapshot, changes: Changes) -> Snapshot:
    """What a store would load after committing `changes`."""
    plans = {pid: p for pid, p in snapshot.plans.items() if pid not in changes.deleted_plans}
    plans |= {pid: copy.deepcopy(p) for pid, p in changes.plans.items()}
    user = snapshot.user.model_copy(
        update={"state": copy.deepcopy(changes.user_state), "version": snapshot.user.version + 1}
    )
    return Snapshot(user=user, plans=plans)


def step(snapshot: Snapshot, message: Inbound) -> tuple[Snapshot, list[Outbound]]:
    result = ENGINE.step(snapshot, message, NOW)
    return apply(snapshot, result.changes), result.outbounds


def started() -> tuple[Snapshot, list[Outbound]]:
    return step(Snapshot(user=UserRecord(ref=ANNA)), inbound(InboundKind.START))


def only_plan(snapshot: Snapshot) -> PlanRecord:
    [plan] = snapshot.plans.values()
    return plan


# --------------------------------------------------------------------------- the step


def test_a_step_asks_stores_and_changes_nothing_it_was_given() -> None:
    snapshot, outs = started()
    plan = only_plan(snapshot)
    assert outs[-1].is_question and outs[-1].text.startswith("Vad heter insatsen?")
    assert plan.state == {"phase": "planning", "rev": 0, "cursor": "titel"}
    frozen = snapshot.model_copy(deep=True)
    result = ENGINE.step(snapshot, inbound(text="Tidig uppföljning av frånvaro"), NOW)
    assert snapshot == frozen  # pure: the snapshot given is not touched
    [answer] = result.changes.answers
    assert (answer.path, answer.value.text) == ("titel", "Tidig uppföljning av frånvaro")
    assert result.changes.plans[plan.id].state["cursor"] != "titel"
    assert result.changes.plans[plan.id].title == "Tidig uppföljning av frånvaro"
    assert result.outbounds[-1].is_question
    assert not result.outbounds[-1].text.startswith("Vad heter insatsen?")


def test_a_refused_answer_changes_no_state_and_asks_again() -> None:
    snapshot, _ = started()
    result = ENGINE.step(snapshot, inbound(text="   "), NOW)
    assert result.changes.answers == [] and result.changes.plans == {}
    assert result.outbounds[-1].text.startswith("Vad heter insatsen?")


def test_a_stale_button_changes_nothing() -> None:
    snapshot, _ = started()
    snapshot, outs = step(snapshot, inbound(text="/radera"))
    snapshot, _ = step(snapshot, inbound(text="/planer"))
    old = next(c.value for o in outs for c in o.choices)
    result = ENGINE.step(snapshot, inbound(InboundKind.CHOICE, choice=old), NOW)
    assert [o.notice for o in result.outbounds] == [True]
    assert result.changes.plans == {} and result.changes.answers == []


# --------------------------------------------------------------------------- typed state

# States exactly as the engine before typed state wrote them (one per mode and field).
OLD_PLAN_STATES: list[dict[str, Any]] = [
    {"phase": "planning", "rev": 0, "cursor": "titel"},
    {"phase": "planning", "rev": 4, "cursor": "nulage", "mode": "buffer", "buffer": "x\ny"},
    {
        "phase": "planning",
        "rev": 2,
        "cursor": "mal",
        "mode": "pii",
        "pending": {
            "path": "mal",
            "value": {
                "text": "Ring anna@skolan.se",
                "items": [],
                "start": None,
                "end": None,
                "number": None,
                "choice": None,
                "skipped": False,
            },
            "kinds": ["e-postadress"],
        },
    },
    {
        "phase": "planning",
        "rev": 7,
        "cursor": "mal",
        "mode": "andra",
        "edit_list": ["titel", "enhet"],
        "return_to": "period",
    },
    {
        "phase": "planning",
        "rev": 9,
        "cursor": "omrade[1].insats[1].namn",
        "instances": {"omrade": ["1", "3"], "omrade[1].insats": ["1"]},
        "next_instance": 4,
        "mode": "remove_pick",
        "remove_list": [{"group": "omrade", "id": "3", "label": "Område 2 (Läsning)"}],
    },
    {
        "phase": "planning",
        "rev": 9,
        "cursor": None,
        "mode": "remove",
        "remove": {"group": "omrade", "id": "3", "label": "Område 2"},
    },
    {
        "phase": "planning",
        "rev": 17,
        "cursor": None,
        "followup_date": "2027-05-20",
        "mode": "followup_offer",
    },
    {"phase": "followup", "rev": 18, "cursor": "resultat", "followup_snoozed": "2027-05-21"},
    {"phase": "planning", "rev": 3, "cursor": "mal", "mode": "paused", "draft_text": "lång"},
    {
        "phase": "planning",
        "rev": 0,
        "instances": {"omrade": ["1"]},
        "next_instance": 2,
        "carried": ["titel", "omrade[1].namn"],
        "carried_from": "Läsplan",
        "carried_template": "Åtgärdsplan",
        "carried_shown": ["", "omrade[1]"],
        "cursor": "resultat",
    },
]


@pytest.mark.parametrize("stored", OLD_PLAN_STATES)
def test_a_stored_plan_state_loads_typed_and_dumps_to_the_same_json(
    stored: dict[str, Any],
) -> None:
    state = PlanState.load(copy.deepcopy(stored))
    assert state.mode_name == stored.get("mode")
    # "cursor": None is the same as no cursor; everything else comes back as it was.
    assert state.dump() == {k: v for k, v in stored.items() if v is not None}


@pytest.mark.parametrize(
    "stored",
    [
        {"active": "a1", "menu": {"kind": "plans", "ids": ["a1", "b2"]}},
        {"menu": {"kind": "templates", "ids": ["handlingsplan", "atgardsplan"]}},
        {"active": "a1", "menu": {"kind": "carry", "template": "slut", "ids": ["a1"]}},
        {"active": "a1", "menu": {"kind": "delete", "plan": "a1"}},
        {"menu": {"kind": "delete", "plan": None}},
        {"active": "a1", "menu": {"kind": "delete_plan", "plan": "a1"}},
        {"menu": {"kind": "delete_all", "plan": None}},
        {"active": "a1", "menu": {"kind": "resume"}},
        {"active": "a1"},
        {},
    ],
)
def test_a_stored_user_state_loads_typed_and_dumps_to_the_same_json(
    stored: dict[str, Any],
) -> None:
    assert UserState.load(copy.deepcopy(stored)).dump() == stored


def test_a_broken_stored_state_loads_what_it_can() -> None:
    state = PlanState.load(
        {
            "cursor": "mal",
            "rev": "many",  # unreadable: the default
            "mode": "pii",  # without its pending answer: no mode
            "edit_list": ["titel"],  # a leftover of a mode that ended
            "something_old": 1,
        }
    )
    assert (state.cursor, state.rev, state.mode) == ("mal", 0, None)
    assert state.dump() == {"cursor": "mal"}
    assert PlanState.load({"mode": "no_such_mode", "cursor": "x"}).dump() == {"cursor": "x"}
    user = UserState.load({"active": 3, "menu": {"kind": "nonsense"}})
    assert (user.active, user.menu) == (None, None)


def test_a_plan_in_each_mode_asks_its_own_question_after_loading() -> None:
    snapshot, _ = started()
    for answer in ("Tidig uppföljning av frånvaro", "Ringsjöskolan, Höör"):
        snapshot, _ = step(snapshot, inbound(text=answer))
    plan = only_plan(snapshot)
    for stored in OLD_PLAN_STATES:
        state = {**stored, "cursor": plan.state["cursor"], "phase": "planning"}
        state.pop("instances", None)
        state.pop("carried", None)
        loaded = snapshot.model_copy(
            update={"plans": {plan.id: plan.model_copy(update={"state": state})}}
        )
        outs = ENGINE.replay(loaded, NOW)
        assert outs and any(o.text or o.heading for o in outs), stored


# --------------------------------------------------------------------------- the mode table


def test_the_engine_docstring_shows_the_table_the_router_uses() -> None:
    assert engine.__doc__ is not None
    assert routing.mode_table() in engine.__doc__
    assert set(routing.MODES) == set(MODE_NAMES)
    assert set(routing.COMMANDS) == set(Command)
    # The rows and sentences written by hand say what the COMMANDS table does.
    without_plan = " ".join(f"/{c.value}" for c, spec in routing.COMMANDS.items() if spec.run_any)
    assert without_plan == "/start /hjalp /ny /planer /radera /mina-uppgifter /paminnelser"
    assert (
        "unless it is /start, /hjalp, /ny, /planer, /radera,\n/mina-uppgifter or /paminnelser."
        in engine.__doc__
    )
    assert [c for c, spec in routing.COMMANDS.items() if not spec.closes_menu] == [Command.HELP]
    assert "close it; /hjalp not" in engine.__doc__


def _in_mode(name: str) -> Snapshot:
    """Anna's plan with three answers, put in the mode `name` as a stored state says it."""
    snapshot, _ = started()
    for answer in ("Tidig uppföljning av frånvaro", "Ringsjöskolan, Höör", "ht-26 till vt-27"):
        snapshot, _ = step(snapshot, inbound(text=answer))
    plan = only_plan(snapshot)
    modes: dict[str, dict[str, Any]] = {
        "buffer": {"buffer": "första biten"},
        "pii": {
            "pending": {
                "path": plan.state["cursor"],
                "value": {"text": "x"},
                "kinds": ["e-postadress"],
            }
        },
        "andra": {"edit_list": ["titel", "enhet"]},
        "remove_pick": {"remove_list": [{"group": "omrade", "id": "1", "label": "Område 1"}]},
        "remove": {"remove": {"group": "omrade", "id": "1", "label": "Område 1"}},
        "append": {"append_to": "titel"},
        "asked": {"asked": "Vad menas med enhet här?"},
    }
    own = modes.get(name, {})
    state = {**plan.state, "mode": name, **own}
    return snapshot.model_copy(
        update={"plans": {plan.id: plan.model_copy(update={"state": state})}}
    )


@pytest.mark.parametrize("name", MODE_NAMES)
@pytest.mark.parametrize("command", [Command.OVERVIEW, Command.BACK, Command.SKIP])
def test_each_mode_meets_a_command_as_the_table_says(name: str, command: Command) -> None:
    spec = routing.MODES[name]  # type: ignore[index]
    snapshot = _in_mode(name)
    result = ENGINE.step(snapshot, inbound(text=f"/{command.value}"), NOW)
    after = result.plans[only_plan(snapshot).id].state.get("mode")
    if command in spec.keeps:
        if name == "remove_pick":
            # Asked again, the list is rebuilt from the plan: this one has nothing to remove,
            # so the list ends with that said (and is not left stored for the next message).
            assert ENGINE.msg("remove.nothing") in result.outbounds[-2].text
            assert after is None
        else:
            assert after == name
    elif spec.refuses_others:
        assert after == name
        assert result.outbounds[0].text == ENGINE.msg("buffer.finish_first")
        assert result.changes.answers == []
    else:
        assert after != name


@pytest.mark.parametrize("name", MODE_NAMES)
def test_each_mode_meets_typed_text_as_the_table_says(name: str) -> None:
    snapshot = _in_mode(name)
    text = "Närvarostatistiken för ht-25 visar att 14 % av eleverna har mer än 10 % frånvaro."
    result = ENGINE.step(snapshot, inbound(text=text), NOW)
    after = result.plans[only_plan(snapshot).id].state.get("mode")
    stored = [a.value.text for a in result.changes.answers]
    if name == "buffer":  # one more piece
        assert after == "buffer" and stored == []
        assert "Närvarostatistiken" in result.changes.plans[only_plan(snapshot).id].state["buffer"]
    elif name == "paused":  # resumes, not an answer
        assert after is None and stored == []
    elif name in ("andra", "remove_pick", "review"):  # not an item: the list again
        assert stored == []
        assert ENGINE.msg("menu.pick_number") in [o.text for o in result.outbounds]
        # This plan has nothing to remove: the list, rebuilt, ends there (stored so too).
        assert after == (None if name == "remove_pick" else name)
    elif name == "append":  # added to the answer it names, after a blank line
        [added] = stored
        assert after is None and added.startswith("Tidig uppföljning av frånvaro")
        assert added.endswith(text)
    else:  # the mode ends and the text is an answer
        assert after is None and stored == [text]


# --------------------------------------------------------------------------- buttons


def test_button_values_parse_back_to_what_built_them() -> None:
    tag = buttons.tag_of(["a", "b"])
    assert len(tag) == 6 and tag != buttons.tag_of(["a", "c"])
    assert buttons.parse(buttons.scoped(tag, "c2")) == buttons.Scoped(tag, "c2")
    assert buttons.parse(buttons.plan_action(buttons.OPEN_PLAN, "p1")) == buttons.PlanAction(
        "open", "p1"
    )
    assert buttons.parse(buttons.NEW_PLAN) == buttons.NewPlan()
    assert isinstance(buttons.parse("made_up"), buttons.Unknown)
    assert buttons.index_of(buttons.indexed(buttons.EDIT, 12), buttons.EDIT) == 12
    assert buttons.index_of("a12", buttons.REMOVE) is None
    assert len(set(buttons.INDEXED)) == len(buttons.INDEXED)
    assert (buttons.YES, buttons.NO) == ("ja", "nej")


def test_every_button_the_engine_sends_fits_the_grammar_and_telegram() -> None:
    snapshot, outs = started()
    seen = list(outs)
    for text in ("Tidig uppföljning av frånvaro", "/andra", "/radera", "/planer", "/ny"):
        snapshot, outs = step(snapshot, inbound(text=text))
        seen += outs
    values = [c.value for o in seen for c in o.choices]
    assert values
    for value in values:
        parsed = buttons.parse(value)
        assert isinstance(parsed, buttons.Scoped), value
        assert len(value.encode()) <= 64
    summary = ENGINE.summaries(snapshot)[0]
    assert buttons.parse(summary.open_value) == buttons.PlanAction("open", summary.id)
    assert buttons.parse(summary.export_value) == buttons.PlanAction("export", summary.id)


def test_a_confirmation_left_by_a_refused_answer_does_not_take_the_next_yes() -> None:
    """A removal was being confirmed; the teacher wrote something else, which was refused as
    an answer. The question the teacher now sees is the plan's own: a later "ja" must not
    remove Område 2 (the ended confirmation used to stay stored)."""
    snapshot, _ = started()
    plan = only_plan(snapshot)
    plan.state["mode"] = "remove"
    plan.state["remove"] = {"group": "omrade", "id": "2", "label": "Område 2"}
    snapshot, _ = step(snapshot, inbound(text="   "))
    assert only_plan(snapshot).state.get("mode") is None
    snapshot, outs = step(snapshot, inbound(text="ja"))
    assert not any("minst en" in (o.text or "") for o in outs)  # not taken as "remove"
