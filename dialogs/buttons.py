"""Button values: the one grammar for what a pressed button sends back (Inbound.choice).

    value  := scoped | plan_action | "new"
    scoped := "t" TAG ":" token          a button of one prompt; TAG (6 hex digits) changes
                                          whenever the prompt does, so an old button is stale
    plan_action := ("open" | "export") ":" PLAN_ID
                                          buttons outside any conversation (Slack's App Home)
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


@dataclass(frozen=True)
class Scoped:
    tag: str
    token: str


@dataclass(frozen=True)
class PlanAction:
    action: str  # OPEN_PLAN or EXPORT_PLAN
    plan_id: str


@dataclass(frozen=True)
class NewPlan:
    pass


@dataclass(frozen=True)
class Unknown:
    value: str


Parsed = Scoped | PlanAction | NewPlan | Unknown


def parse(value: str) -> Parsed:
    head, colon, rest = value.partition(":")
    if value == NEW_PLAN:
        return NewPlan()
    if colon and head in (OPEN_PLAN, EXPORT_PLAN) and rest:
        return PlanAction(head, rest)
    if colon and head.startswith("t") and len(head) > 1:
        return Scoped(head[1:], rest)
    return Unknown(value)
