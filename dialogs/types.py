"""The shapes that cross the engine's border: what comes in, what goes out, what is stored.

Channels build an `Inbound` from a platform update and render each `Outbound` their own way
(inline keyboard, Block Kit, numbered lines). The store loads a `Snapshot` and commits the
`Changes` a step produced. Everything here is plain data: no I/O, no platform types.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, JsonValue

# The stored form of the conversation state: a JSON object as storage keeps it. The engine
# reads and writes it only through the typed models in dialogs/state.py (PlanState.load/dump,
# UserState.load/dump); storage needs no knowledge of its shape.
StoredState = dict[str, JsonValue]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


# --------------------------------------------------------------------------- inbound


class InboundKind(StrEnum):
    START = "start"  # the channel opened the conversation (console start, Telegram /start)
    TEXT = "text"  # a typed message; commands are parsed from it by the engine
    CHOICE = "choice"  # a pressed button; `choice` holds the button's value
    UNSUPPORTED = "unsupported"  # a photo, sticker, voice, file... where text is expected


class UserRef(Frozen):
    """Who wrote: one teacher in one channel."""

    channel: str  # "console", "telegram", "slack"
    external_id: str  # the platform's user id (console: the OS user name)
    display_name: str = ""


class Inbound(Frozen):
    user: UserRef
    kind: InboundKind
    key: str  # idempotency key: the platform's update id / event id
    text: str = ""
    choice: str = ""
    # What arrived instead of text; used in the explanation. One of: photo, sticker, voice,
    # audio, video, document, location, contact, edited (an edited old message), other.
    media: str = ""


# --------------------------------------------------------------------------- outbound


class Choice(Frozen):
    """One button. `value` is what comes back as Inbound.choice; it stays short
    (Telegram caps callback_data at 64 bytes)."""

    label: str
    value: str


class Document(Frozen):
    filename: str
    data: bytes
    title: str = ""
    draft: bool = False


class Outbound(Frozen):
    """One message to the teacher. Text is plain: the channel escapes and formats it.

    `heading` is shown bold, `text` as the body (paragraphs separated by blank lines),
    `note` as a quieter guidance line, `progress` as a small status line.
    """

    text: str = ""
    heading: str | None = None
    note: str | None = None
    progress: str | None = None
    choices: tuple[Choice, ...] = ()
    # Set by the engine when the teacher asked for a document; the service fills `document`.
    export_plan_id: str | None = None
    export_draft: bool = False
    # Set by the engine for /mina-uppgifter: the service attaches the zip of everything
    # stored about the teacher (Conversation.data_export).
    export_user_data: bool = False
    # Which copy ("arbetsexemplar" with the seed's guidance, "inlamning" without); None: the
    # template's default. `export_pdf`: a PDF too, sent after the .docx.
    export_variant: str | None = None
    export_pdf: bool = False
    # False with `export_pdf`: only the PDF (the teacher has this copy's .docx already).
    export_docx: bool = True
    document: Document | None = None
    # True for a message that asks the current question: the channel may treat it specially
    # (e.g. keep only the newest question's keyboard).
    is_question: bool = False
    # A short notice that may be shown as a toast/ephemeral reply (Telegram: the answer to a
    # pressed button) rather than a chat message, e.g. "that button is no longer valid".
    notice: bool = False
    # False when only a choice is a valid reply (a menu, a confirmation): a channel without
    # buttons may then read a typed number as the choice with that number.
    accepts_text: bool = True


# --------------------------------------------------------------------------- records


class PlanStatus(StrEnum):
    IN_PROGRESS = "pagar"  # planning questions still open
    PLANNED = "planerad"  # planning done; follow-up questions wait for the follow-up date
    DONE = "klar"  # every question answered


class AnswerValue(Frozen):
    """A validated answer as stored. `text` is the cleaned text as the teacher wrote it;
    the other fields hold what was understood from it."""

    text: str = ""
    items: tuple[str, ...] = ()  # list answers: one item a line/bullet
    start: dt.date | None = None  # dates and periods, normalised
    end: dt.date | None = None
    number: int | None = None  # counts
    choice: str | None = None  # the chosen option, as written in the template
    skipped: bool = False  # /hoppa on an optional question


class AnswerRecord(Frozen):
    """One row of the append-only answer history."""

    plan_id: str
    path: str
    value: AnswerValue
    created_at: dt.datetime


class PlanRecord(BaseModel):
    """One plan with its current answers (latest per path) and its dialog state."""

    id: str
    template_id: str
    title: str = ""
    status: PlanStatus = PlanStatus.IN_PROGRESS
    state: StoredState = Field(default_factory=dict)  # a dialogs.state.PlanState, dumped
    answers: dict[str, AnswerValue] = Field(default_factory=dict)
    created_at: dt.datetime
    updated_at: dt.datetime


class UserRecord(BaseModel):
    id: int | None = None  # None until first stored
    ref: UserRef
    state: StoredState = Field(default_factory=dict)  # a dialogs.state.UserState, dumped
    version: int = 0


class Snapshot(BaseModel):
    """Everything one step may read: the teacher, their plans, whether the key was seen."""

    user: UserRecord
    plans: dict[str, PlanRecord] = Field(default_factory=dict)
    key_seen: bool = False


class Changes(BaseModel):
    """Everything one step writes, committed in one transaction with the version check."""

    user_state: StoredState
    plans: dict[str, PlanRecord] = Field(default_factory=dict)  # new or changed plans
    answers: list[AnswerRecord] = Field(default_factory=list)  # appended to the history
    deleted_plans: list[str] = Field(default_factory=list)
    delete_user: bool = False  # all of the teacher's data


class PlanSummary(Frozen):
    """One line of a teacher's plan list (Slack's App Home, /planer)."""

    id: str
    title: str
    template_id: str
    template_name: str
    status: PlanStatus
    answered: int
    total: int
    updated_at: dt.datetime
    active: bool
    # Button values for this plan outside any conversation (Slack's App Home): the channel
    # shows them and passes them back as Inbound.choice (dialogs/buttons.py builds them).
    open_value: str = ""
    export_value: str = ""
