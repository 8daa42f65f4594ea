"""Commands a teacher can give, parsed from text: "/hjälp" and "/hjalp" alike, and the bare
word ("hjälp") where a platform keeps "/" for itself (Slack)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Command(StrEnum):
    START = "start"
    HELP = "hjalp"
    BACK = "tillbaka"
    SKIP = "hoppa"
    EDIT = "andra"
    REMOVE = "tabort"  # an insats or område (a group instance), after a confirmation
    OVERVIEW = "oversikt"
    EXPORT = "exportera"
    PLANS = "planer"
    NEW = "ny"
    PAUSE = "paus"
    DELETE = "radera"
    DONE = "klar"
    CANCEL = "avbryt"
    FOLLOWUP = "uppfoljning"
    # Telegram's command menu allows only a-z, 0-9 and _: listed there as /mina_uppgifter.
    MY_DATA = "mina-uppgifter"  # everything stored about the teacher, as a zip
    REMINDERS = "paminnelser"  # what the bot will remind of, per plan; on/off
    APPEND = "laggtill"  # add the next text to the previous long answer


# Published in platform menus, in this order (descriptions live in prompts/messages).
MENU: tuple[Command, ...] = (
    Command.NEW,
    Command.PLANS,
    Command.OVERVIEW,
    Command.EXPORT,
    Command.BACK,
    Command.EDIT,
    Command.REMOVE,
    Command.SKIP,
    Command.HELP,
    Command.PAUSE,
    Command.FOLLOWUP,
    Command.REMINDERS,
    Command.DELETE,
    Command.MY_DATA,
)

_ALIASES: dict[str, Command] = {
    "help": Command.HELP,
    "hjalpa": Command.HELP,
    "bak": Command.BACK,
    "back": Command.BACK,
    "hoppa over": Command.SKIP,
    "skip": Command.SKIP,
    "andra svar": Command.EDIT,
    "redigera": Command.EDIT,
    "export": Command.EXPORT,
    "ladda ner": Command.EXPORT,
    "mina planer": Command.PLANS,
    "ny plan": Command.NEW,
    "pausa": Command.PAUSE,
    "ta bort": Command.DELETE,
    "ta bort insats": Command.REMOVE,
    "ta bort omrade": Command.REMOVE,
    "ta bort utvecklingsomrade": Command.REMOVE,
    "fardig": Command.DONE,
    "klart": Command.DONE,
    "uppfoljningen": Command.FOLLOWUP,
    "mina_uppgifter": Command.MY_DATA,
    "minauppgifter": Command.MY_DATA,
    "mina uppgifter": Command.MY_DATA,
    "paminnelse": Command.REMINDERS,
    "mina paminnelser": Command.REMINDERS,
    "lagg till": Command.APPEND,
    "lagg till i forra svaret": Command.APPEND,
}
# Bare words (no slash) that count as commands; only whole messages, so an answer that
# merely contains "hjälp" is still an answer. /start is left out: "start" may be an answer.
_BARE = {c.value: c for c in Command if c is not Command.START} | _ALIASES


@dataclass(frozen=True)
class ParsedCommand:
    command: Command | None  # None: "/something" we do not know
    name: str  # as written, without slash
    argument: str


def fold(text: str) -> str:
    """Lower case without accents: "Översikt" → "oversikt"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse_command(text: str) -> ParsedCommand | None:
    stripped = text.strip()
    if stripped.startswith("/"):
        head, _, rest = stripped[1:].partition(" ")
        head = head.split("@", 1)[0]  # Telegram: /hjalp@planbot_bot
        key = fold(head)
        command = _BARE.get(key) or (Command.START if key == "start" else None)
        return ParsedCommand(command, head, rest.strip())
    if len(stripped) > 30:  # a bare command is one or two words; answers are longer
        return None
    key = fold(stripped).rstrip(".!? ")
    if key in _BARE:
        return ParsedCommand(_BARE[key], stripped, "")
    return None
