"""The conversation state, typed: what a plan and a teacher carry between two messages.

Storage keeps both as JSON objects (`PlanRecord.state`, `UserRecord.state`); the engine loads
them into these models at the start of a step (`PlanState.load`, `UserState.load`) and writes
them back with `dump()` in the very same JSON shape the engine has always written, so no stored
row needs a migration. The loader is tolerant: an unknown key is dropped, a mode whose own
fields are missing or broken is left (the teacher is simply asked the current question again).

A plan is in at most one *mode*, a closed set; each mode carries its own fields, and leaving
the mode drops them. In JSON the mode's fields sit flat next to "mode" (`{"mode": "buffer",
"buffer": "…"}`), as they always did.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dialogs.template import Phase
from dialogs.types import AnswerValue


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


# --------------------------------------------------------------------------- plan modes


class RemoveTarget(_Model):
    """A group instance /tabort may remove: "omrade[2].insats" id "3", shown as label."""

    group: str
    id: str
    label: str = ""


class Pending(_Model):
    """An answer that looked like it held personal data, waiting for keep or rephrase."""

    path: str
    value: AnswerValue
    kinds: list[str] = Field(default_factory=list)


class Paused(_Model):
    name: Literal["paused"] = "paused"


class Buffer(_Model):
    name: Literal["buffer"] = "buffer"
    text: str = ""  # JSON: "buffer"


class PersonalData(_Model):
    name: Literal["pii"] = "pii"
    pending: Pending  # JSON: "pending"


class Editing(_Model):
    name: Literal["andra"] = "andra"
    paths: list[str] = Field(default_factory=list)  # JSON: "edit_list"


class RemovePick(_Model):
    name: Literal["remove_pick"] = "remove_pick"
    targets: list[RemoveTarget] = Field(default_factory=list)  # JSON: "remove_list"


class RemoveConfirm(_Model):
    name: Literal["remove"] = "remove"
    target: RemoveTarget  # JSON: "remove"


class FollowupOffer(_Model):
    name: Literal["followup_offer"] = "followup_offer"


class Appending(_Model):
    """ "Lägg till i förra svaret" pressed: the next text is added to the answer at `path`."""

    name: Literal["append"] = "append"
    path: str  # JSON: "append_to"


class Asked(_Model):
    """A short message that read as a question about the question: help shown, the text
    held in case it was meant as the answer."""

    name: Literal["asked"] = "asked"
    text: str  # JSON: "asked"


class Review(_Model):
    """The whole plan shown before it becomes planerad or klar; waits for a yes."""

    name: Literal["review"] = "review"


Mode = Annotated[
    Paused
    | Buffer
    | PersonalData
    | Editing
    | RemovePick
    | RemoveConfirm
    | FollowupOffer
    | Appending
    | Asked
    | Review,
    Field(discriminator="name"),
]
ModeName = Literal[
    "paused",
    "buffer",
    "pii",
    "andra",
    "remove_pick",
    "remove",
    "followup_offer",
    "append",
    "asked",
    "review",
]
MODE_NAMES: tuple[ModeName, ...] = get_args(ModeName)
_MODE = TypeAdapter[Any](Mode)

# Each mode's own field: (name in the model, key in the stored JSON).
_MODE_FIELDS: dict[str, tuple[str, str]] = {
    "buffer": ("text", "buffer"),
    "pii": ("pending", "pending"),
    "andra": ("paths", "edit_list"),
    "remove_pick": ("targets", "remove_list"),
    "remove": ("target", "remove"),
    "append": ("path", "append_to"),
    "asked": ("text", "asked"),
}
_MODE_KEYS = {key for _, key in _MODE_FIELDS.values()}


class LastLong(_Model):
    """The newest free-text answer stored: messages that follow it within the burst window
    (and "Lägg till i förra svaret") are added to it."""

    path: str
    at: dt.datetime
    rev: int  # the plan's rev right after it was stored: nothing answered since
    added: str | None = None  # the newest piece added to it by a burst (can be taken back)
    before: str | None = None  # the answer's text before that piece
    # The teacher's version when it was stored: a burst is only the very next message (a
    # button, a command or a sticker in between ends it). None: stored before this field.
    version: int | None = None


# --------------------------------------------------------------------------- plan state


class ReminderWishes(_Model):
    """What the teacher said about a plan's reminders (dialogs/reminders.py reads it from the
    stored JSON, `{"off": true, "snoozed": {"followup:nar_uppfoljning": "2027-03-30T06:00Z"}}`)."""

    off: bool | None = None  # True: turned off, False: on again, None: never said
    snoozed: dict[str, dt.datetime] = Field(default_factory=dict)  # "<kind>:<ref>" → until


class PlanState(_Model):
    """One plan's dialog state."""

    phase: Phase = Phase.PLANNING
    rev: int = 0  # bumped by every stored answer: buttons of older prompts go stale
    cursor: str | None = None  # the slot being asked; None when nothing is left
    mode: Mode | None = None
    # Ids of each repeatable group's instances ("omrade[2].insats": ["1", "3"]).
    instances: dict[str, list[str]] = Field(default_factory=dict)
    next_instance: int = 2
    return_to: str | None = None  # where an /andra detour returns to
    draft_text: str | None = None  # a rejected long answer, kept so nothing is lost
    followup_date: dt.date | None = None
    followup_snoozed: dt.date | None = None  # "Senare" pressed on the follow-up offer
    # Carried over from another plan (a slutredovisning from its åtgärdsplan).
    carried: list[str] | None = None
    carried_from: str | None = None
    carried_template: str | None = None
    carried_shown: list[str] | None = None
    carried_plan: str | None = None  # the id of the plan carried from (its reminder opens this)
    reminders: ReminderWishes | None = None  # JSON: "reminders" (dialogs/reminders.STATE_KEY)
    last_long: LastLong | None = None

    @property
    def mode_name(self) -> ModeName | None:
        return None if self.mode is None else self.mode.name

    def slot_view(self) -> dict[str, Any]:
        """What dialogs/slots.py reads of the state (it also reads stored JSON directly)."""
        return {"instances": self.instances}

    @classmethod
    def load(cls, stored: dict[str, Any]) -> PlanState:
        """The stored JSON as written by any version of the engine."""
        data = {k: v for k, v in stored.items() if k != "mode" and k not in _MODE_KEYS}
        mode = _load_mode(stored)
        try:
            state = cls.model_validate(data)
        except ValidationError:
            # Keep what is readable field by field; the rest takes its default.
            state = cls()
            for key, value in data.items():
                if key in cls.model_fields:
                    try:
                        setattr(state, key, value)
                    except ValidationError:
                        continue
        if mode is not None:
            state.mode = mode
        return state

    def dump(self) -> dict[str, Any]:
        """The JSON to store: the fields set so far (None ones left out), the mode flat."""
        out: dict[str, Any] = {}
        data = self.model_dump(mode="json", exclude={"mode"})
        fresh = _FRESH.model_dump(mode="json")
        for key, value in data.items():
            # Set when loaded or assigned, or changed in place (a list appended to).
            if value is not None and (key in self.model_fields_set or value != fresh[key]):
                out[key] = value
        if self.mode is not None:
            out["mode"] = self.mode.name
            own = _MODE_FIELDS.get(self.mode.name)
            if own is not None:
                out[own[1]] = self.mode.model_dump(mode="json")[own[0]]
        return out


_FRESH = PlanState()


def _load_mode(stored: dict[str, Any]) -> Any:
    name = stored.get("mode")
    if name not in MODE_NAMES:
        return None
    data: dict[str, Any] = {"name": name}
    own = _MODE_FIELDS.get(str(name))
    if own is not None and own[1] in stored:
        data[own[0]] = stored[own[1]]
    try:
        return _MODE.validate_python(data)
    except ValidationError:
        return None  # a mode without its fields: leave it, ask the question again


# --------------------------------------------------------------------------- user menus


class ResumeMenu(_Model):
    kind: Literal["resume"] = "resume"


class PlansMenu(_Model):
    kind: Literal["plans"] = "plans"
    ids: list[str] = Field(default_factory=list)


class TemplatesMenu(_Model):
    kind: Literal["templates"] = "templates"
    ids: list[str] = Field(default_factory=list)


class CarryMenu(_Model):
    kind: Literal["carry"] = "carry"
    template: str
    ids: list[str] = Field(default_factory=list)


class DeleteMenu(_Model):
    kind: Literal["delete"] = "delete"
    plan: str | None = None


class DeleteConfirm(_Model):
    kind: Literal["delete_plan", "delete_all"]
    plan: str | None = None


Menu = Annotated[
    ResumeMenu | PlansMenu | TemplatesMenu | CarryMenu | DeleteMenu | DeleteConfirm,
    Field(discriminator="kind"),
]
_MENU = TypeAdapter[Any](Menu)


class UserState(_Model):
    """The teacher's state: the active plan and at most one open menu."""

    active: str | None = None
    menu: Menu | None = None

    @classmethod
    def load(cls, stored: dict[str, Any]) -> UserState:
        state = cls()
        active = stored.get("active")
        if isinstance(active, str):
            state.active = active
        if stored.get("menu") is not None:
            # An unreadable menu: none is open.
            with contextlib.suppress(ValidationError):
                state.menu = _MENU.validate_python(stored["menu"])
        return state

    def menu_json(self) -> dict[str, Any] | None:
        return None if self.menu is None else self.menu.model_dump(mode="json")

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.active is not None:
            out["active"] = self.active
        if self.menu is not None:
            out["menu"] = self.menu_json()
        return out
