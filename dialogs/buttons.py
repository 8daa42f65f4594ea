"""Button values: the one grammar for what a pressed button sends back (Inbound.choice).

    value  := scoped | plan_action | export_as | reminder | "new"
    scoped := "t" TAG ":" token          a button of one prompt; TAG (6 hex digits) changes
                                          whenever the prompt does, so an old button is stale
    plan_action := ("open" | "export") ":" PLAN_ID
                                          buttons outside any conversation (Slack's App Home)
    export_as := "x" COPY ["p"] ":" PLAN_ID
                                          one copy of a plan's document (COPY "a": the
                                          arbetsexemplar, "i": the inlämningsexemplar; "p":
                                          as PDF), offered with a document; never stale,
                                          since it names its plan
    reminder := "rem:" ("now" | "week" | "off" | "on") ":" PLAN_ID [":" REMINDER_ID]
                                          under a reminder the bot sent by itself (with the
                                          reminder's id) or in the /paminnelser list (without):
                                          pressed days later, so context-free like "open"
    token  := INDEXED | WORD
    INDEXED := one letter and a number, the letter saying what the number picks:
        c  an option of the current choice question     a  an answer to change (/andra)
        r  an instance to remove (/tabort)              p  a plan of the plan list
        m  a template of the template list              f  a plan to carry answers from
        n  the number typed at a count question, when it was also a button's number
    WORD   := yes/no on a question and on every confirmation: YES, NO ("ja", "nej");
              and keep, skip, other, export, new, done, now, later, pii_keep, pii_edit,
              resume, plans, blank, del_plan, del_all; append ("Lägg till i förra svaret"),
              unglue (a piece a burst added was the answer to this question), asked_keep (a
              question to the bot kept as the answer), edit (the /andra list, from a review)

Values stay short: Telegram caps callback data at 64 bytes. A channel never builds a value:
it shows the `Choice`s (and `PlanSummary` values) the engine made and sends back the value.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

YES = "ja"
NO = "nej"
NEW_PLAN = "new"

# Words (complete tokens).
KEEP = "keep"
SKIP = "skip"
OTHER = "other"
EXPORT = "export"
NEW = "new"
DONE = "done"
NOW = "now"
LATER = "later"
PII_KEEP = "pii_keep"
PII_EDIT = "pii_edit"
RESUME = "resume"
PLANS = "plans"
BLANK = "blank"
DEL_PLAN = "del_plan"
DEL_ALL = "del_all"
APPEND = "append"
UNGLUE = "unglue"
ASKED_KEEP = "asked_keep"
EDIT_LIST = "edit"

# Indexed tokens: prefix letters, one meaning each.
CHOICE = "c"
EDIT = "a"
REMOVE = "r"
PLAN = "p"
TEMPLATE = "m"
CARRY = "f"
NUMBER = "n"
INDEXED = (CHOICE, EDIT, REMOVE, PLAN, TEMPLATE, CARRY, NUMBER)

OPEN_PLAN = "open"
EXPORT_PLAN = "export"

REMINDER = "rem"
# What a reminder button does: open the plan's follow-up (a nudge: the plan) now, wait a
# week, turn the plan's reminders off, or on again.
REMIND_NOW = "now"
REMIND_WEEK = "week"
REMIND_OFF = "off"
REMIND_ON = "on"
REMIND_ACTIONS = (REMIND_NOW, REMIND_WEEK, REMIND_OFF, REMIND_ON)


def indexed(prefix: str, index: int) -> str:
    assert prefix in INDEXED
    return f"{prefix}{index}"


def index_of(token: str, prefix: str) -> int | None:
    """The number of an indexed token with this prefix ("c2" → 2), else None."""
    if token.startswith(prefix) and token[1:].isdecimal():
        return int(token[1:])
    return None


def tag_of(parts: list[str]) -> str:
    """A short tag that changes whenever one of the parts does."""
    return format(zlib.crc32("|".join(parts).encode()) & 0xFFFFFF, "06x")


def scoped(tag: str, token: str) -> str:
    return f"t{tag}:{token}"


def plan_action(action: str, plan_id: str) -> str:
    assert action in (OPEN_PLAN, EXPORT_PLAN)
    return f"{action}:{plan_id}"


# export_as: the letter of each copy (dialogs.template.DocumentVariant's values).
EXPORT_COPIES = {"a": "arbetsexemplar", "i": "inlamning"}


def export_as(plan_id: str, variant: str, *, pdf: bool = False) -> str:
    [letter] = [k for k, v in EXPORT_COPIES.items() if v == variant]
    return f"x{letter}{'p' if pdf else ''}:{plan_id}"


@dataclass(frozen=True)
class ExportAs:
    plan_id: str
    variant: str  # a DocumentVariant value
    pdf: bool


def reminder(action: str, plan_id: str, reminder_id: int | None = None) -> str:
    """At most 4+5+32+1+10 = 52 bytes with a 32-character plan id."""
    assert action in REMIND_ACTIONS and plan_id and ":" not in plan_id
    value = f"{REMINDER}:{action}:{plan_id}"
    return value if reminder_id is None else f"{value}:{reminder_id}"


@dataclass(frozen=True)
class Scoped:
    tag: str
    token: str


@dataclass(frozen=True)
class PlanAction:
    action: str  # OPEN_PLAN or EXPORT_PLAN
    plan_id: str


@dataclass(frozen=True)
class ReminderPress:
    action: str  # one of REMIND_ACTIONS
    plan_id: str
    reminder_id: int | None  # None: pressed in the /paminnelser list


@dataclass(frozen=True)
class NewPlan:
    pass


@dataclass(frozen=True)
class Unknown:
    value: str


Parsed = Scoped | PlanAction | ExportAs | ReminderPress | NewPlan | Unknown


def parse(value: str) -> Parsed:
    head, colon, rest = value.partition(":")
    if value == NEW_PLAN:
        return NewPlan()
    if colon and head in (OPEN_PLAN, EXPORT_PLAN) and rest:
        return PlanAction(head, rest)
    if colon and rest and head[:1] == "x" and head[1:2] in EXPORT_COPIES and head[2:] in ("", "p"):
        return ExportAs(rest, EXPORT_COPIES[head[1]], pdf=head[2:] == "p")
    if head == REMINDER and colon:
        return _reminder(value)
    if colon and head.startswith("t") and len(head) > 1:
        return Scoped(head[1:], rest)
    return Unknown(value)


def _reminder(value: str) -> ReminderPress | Unknown:
    parts = value.split(":")
    if len(parts) not in (3, 4) or parts[1] not in REMIND_ACTIONS or not parts[2]:
        return Unknown(value)
    if len(parts) == 3:
        return ReminderPress(parts[1], parts[2], None)
    if not parts[3].isdecimal():
        return Unknown(value)
    return ReminderPress(parts[1], parts[2], int(parts[3]))
