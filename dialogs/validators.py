"""Answer validation: raw teacher text in, an `AnswerValue` or an `Invalid` reason out.

Pure functions, no I/O. An `Invalid.reason` names the message key `invalid.<reason>` in
prompts/messages/validation.sv.yaml; its `params` are the values that text shows (numbers
already formatted the Swedish way). `personal_data` names the kinds of personal data in a
text, each with a `pii.<kind>` message, so the engine can ask the teacher to rephrase.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from dialogs.dates import parse_when
from dialogs.template import AnswerType, Question
from dialogs.types import AnswerValue

OTHER_CHOICE = "Annat"  # the choice stored for free text under allow_other
MAX_COUNT = 100_000


@dataclass(frozen=True)
class Invalid:
    reason: str  # key in prompts/messages/validation.sv.yaml, without "invalid."
    params: dict[str, str | int] = field(default_factory=dict)


# --------------------------------------------------------------------------- cleaning

# Word's manual line break (vertical tab) and page break arrive in pasted text: keep them
# as line breaks instead of gluing the words on either side together.
_AS_NEWLINE = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n"})
_UNHOLDABLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]",
)
_MANY_BLANK_LINES = re.compile(r"\n{4,}")
# A terminal's escape sequences (arrow keys, Home/End, bracketed paste, colours): removing
# only the ESC character would leave "[D" in a title.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: arrows, Home/End, Delete, paste markers, colours
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, links
    r"|\x1bO[@-~]"  # SS3: arrows and F1-F4 in application mode
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the one-byte CSI
)


def strip_escapes(text: str) -> str:
    """The text without terminal escape sequences, whole (ESC and what follows it)."""
    return _ESCAPES.sub("", text)


def clean_text(text: str) -> str:
    """Remove what Word/XML cannot hold and tidy line ends; everything else stays as typed."""
    text = strip_escapes(text.replace("\r\n", "\n")).translate(_AS_NEWLINE)
    text = _UNHOLDABLE.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    return _MANY_BLANK_LINES.sub("\n\n", text)


def swedish_number(value: int) -> str:
    """12345 -> "12 345" with a no-break space, as Swedish texts group thousands."""
    return f"{value:,}".replace(",", "\u00a0")


# --------------------------------------------------------------------------- helpers

_PLACEHOLDERS = frozenset(
    {
        "vet ej",
        "vet inte",
        "vet ej än",
        "vet inte än",
        "ingen aning",
        "-",
        "--",
        "?",
        "??",
        "???",
        "x",
        "xx",
        "xxx",
        "...",
        "..",
        "…",
        "tbd",
        "tba",
        "n/a",
    }
)

_BULLET = re.compile(r"^(?:[-*•–—·▪●◦‣](?!\d)|\(?\d{1,2}[.)](?!\d))\s*")

_YES = frozenset({"ja", "j", "yes", "y", "japp", "jepp", "jajamän", "absolut", "ja tack", "jo"})
_NO = frozenset({"nej", "n", "no", "nope", "nä", "näe", "nej tack", "icke"})
_YES_EMOJI = frozenset({"👍", "✅", "✔", "✔️", "👌"})
_NO_EMOJI = frozenset({"👎", "❌", "✖", "🚫"})
_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")

_COUNT_WORDS = {
    "noll": 0,
    "en": 1,
    "ett": 1,
    "två": 2,
    "tre": 3,
    "fyra": 4,
    "fem": 5,
    "sex": 6,
    "sju": 7,
    "åtta": 8,
    "nio": 9,
    "tio": 10,
    "elva": 11,
    "tolv": 12,
}
_VAGUE = frozenset({"par", "del", "tiotal", "fåtal", "antal", "handfull", "massa", "hel"})
_COUNT_PREFIX = re.compile(
    r"^(?:ca\.?|c:a|cirka|ungefär|ungf\.?|runt|omkring|drygt|knappt|nästan|~|≈)\s*"
)
_COUNT_NUMBER = re.compile(
    r"(?<![\w,.])(?P<sign>[-−–]\s?)?"
    r"(?P<digits>\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?P<fraction>[.,]\d+)?(?![\w])"
)


def _fold(text: str) -> str:
    """Case- and accent-insensitive form for matching labels: "Förskola" -> "forskola"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", bare).split())


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


def _is_placeholder(text: str) -> bool:
    folded = " ".join(text.casefold().split())
    return folded in _PLACEHOLDERS or folded.rstrip(".!") in _PLACEHOLDERS


def list_items(text: str) -> tuple[str, ...]:
    """Items one a line or bullet; a single line may separate them with ";"."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) == 1 and ";" in lines[0]:
        lines = lines[0].split(";")
    items = (_BULLET.sub("", line.strip(), count=1).strip() for line in lines)
    return tuple(item for item in items if item)


def parse_count(text: str) -> int | None:
    """A whole number of things: "12", "ca 10", "ungefär 25 st", "1 200", "tio"."""
    folded = " ".join(text.casefold().split())
    matches = list(_COUNT_NUMBER.finditer(folded))
    if not matches:
        # "tio", "ca tolv st"; but "ett tiotal" or "en del" is no number.
        words = re.findall(r"[a-zåäö]+", _COUNT_PREFIX.sub("", folded))
        if not words or len(words) > 2 or (len(words) == 2 and words[1] in _VAGUE):
            return None
        return _COUNT_WORDS.get(words[0])
    if len(matches) != 1:
        return None
    m = matches[0]
    if m["sign"] or m["fraction"]:
        return None
    value = int(re.sub(r"\D", "", m["digits"]))
    return value if value <= MAX_COUNT else None


def parse_yesno(text: str) -> str | None:
    """ "ja" or "nej" for the many ways of saying so, else None."""
    folded = " ".join(_EMOJI_MODIFIERS.sub("", text).casefold().split()).strip(".!,")
    if folded in _YES or folded in _YES_EMOJI:
        return "ja"
    if folded in _NO or folded in _NO_EMOJI:
        return "nej"
    return None


def parse_choice(question: Question, text: str) -> str | None:
    """The label the teacher means: its number ("2", "2."), the label itself in any case or
    accents, or a prefix of at least three letters that fits one label only. A yes/no
    question has the implicit labels "ja" and "nej"."""
    if question.type is AnswerType.YESNO:
        return parse_yesno(text)
    stripped = text.strip()
    if m := re.fullmatch(r"(\d{1,2})\s*[.)]?", stripped):
        index = int(m[1])
        return question.choices[index - 1] if 1 <= index <= len(question.choices) else None
    typed = _fold(stripped)
    if not typed:
        return None
    for label in question.choices:
        if _fold(label) == typed:
            return label
    if len(typed.replace(" ", "")) >= 3:
        fits = [label for label in question.choices if _fold(label).startswith(typed)]
        if len(fits) == 1:
            return fits[0]
    return None


def _choices_list(question: Question) -> str:
    return ", ".join(f"{i}. {label}" for i, label in enumerate(question.choices, start=1))


def _date_example(question: Question, today: dt.date) -> str:
    if question.example and parse_when(question.example, today) is not None:
        return question.example
    if question.type is AnswerType.PERIOD:
        autumn = today.year if today.month < 8 else today.year + 1
        return f"ht-{autumn % 100:02d} – vt-{(autumn + 1) % 100:02d}"
    return f"{today.year}-{today.month:02d}-{today.day:02d}"


# --------------------------------------------------------------------------- validate

_TEXTUAL = (AnswerType.TEXT, AnswerType.LONG_TEXT, AnswerType.LIST)


def validate(question: Question, text: str, today: dt.date) -> AnswerValue | Invalid:
    """Check one raw answer against its question; the reason says what to do next."""
    cleaned = clean_text(text)
    if question.type is AnswerType.TEXT:
        cleaned = _one_line(cleaned)
    if not cleaned.strip():
        return Invalid("required") if question.required else Invalid("empty")

    length = len(cleaned)
    if question.max_length is not None and length > question.max_length:
        return Invalid(
            "too_long",
            {"max": swedish_number(question.max_length), "length": swedish_number(length)},
        )
    if question.type in _TEXTUAL and question.min_length:
        if _is_placeholder(cleaned):
            return Invalid("placeholder")
        if length < question.min_length:
            return Invalid(
                "too_short",
                {"min": swedish_number(question.min_length), "length": swedish_number(length)},
            )

    match question.type:
        case AnswerType.TEXT | AnswerType.LONG_TEXT:
            return AnswerValue(text=cleaned)
        case AnswerType.LIST:
            items = list_items(cleaned)
            if not items:
                return Invalid("empty_list")
            return AnswerValue(text=cleaned, items=items)
        case AnswerType.DATE | AnswerType.PERIOD:
            period = parse_when(_one_line(cleaned), today)
            if period is None:
                return Invalid("bad_date", {"example": _date_example(question, today)})
            return AnswerValue(text=cleaned, start=period[0], end=period[1])
        case AnswerType.COUNT:
            number = parse_count(cleaned)
            if number is None:
                return Invalid("bad_count", {"max": swedish_number(MAX_COUNT)})
            return AnswerValue(text=cleaned, number=number)
        case AnswerType.YESNO:
            answer = parse_choice(question, cleaned)
            if answer is None:
                return Invalid("bad_yesno")
            return AnswerValue(text=cleaned, choice=answer)
        case AnswerType.CHOICE:
            label = parse_choice(question, cleaned)
            if label is not None:
                return AnswerValue(text=label, choice=label)
            if question.allow_other and not re.fullmatch(r"\d{1,2}\s*[.)]?", cleaned.strip()):
                if _fold(cleaned) == _fold(OTHER_CHOICE):
                    return Invalid("other_needs_text")
                return AnswerValue(text=cleaned, choice=OTHER_CHOICE)
            return Invalid("bad_choice", {"choices": _choices_list(question)})
    raise AssertionError(f"unhandled answer type {question.type!r}")


# --------------------------------------------------------------------------- personal data

# Every dash pasted text carries between the date and the last four digits: hyphen-minus,
# Unicode hyphen, non-breaking hyphen, figure dash, en and em dash, horizontal bar, minus
# sign, and the small and full-width hyphen-minus. Word turns "-" into "–" as you type.
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_GAP = "[ \u00a0\u202f\t]"
_RE_PERSONAL_NUMBER = re.compile(
    rf"(?<![\d\w+{_DASHES}/.,])(?P<century>\d{{2}})?(?P<yy>\d{{2}})(?P<mm>\d{{2}})(?P<dd>\d{{2}})"
    rf"(?P<sep>{_GAP}*[+{_DASHES}]{_GAP}*|{_GAP})?(?P<last>\d{{4}})(?![\d\w]|[{_DASHES}/.,]\d)"
)
_RE_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_RE_PHONE = re.compile(
    r"(?<![\w+\-/.,])"
    r"(?:(?:\+46|0046)[\s-]?(?:\(0\)\s?)?|0)(?P<area>8|[1-79]\d{1,2})"
    r"(?P<rest>(?:\s?[-–]\s?|\s)?\d(?:[\s-]?\d){4,7})"
    r"(?![\w]|[-/.,]\d)"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(digits):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return total % 10 == 0


def _date_exists(century: str | None, yy: str, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    years = [int(century + yy)] if century else [1900 + int(yy), 2000 + int(yy)]
    return any(
        1800 <= year <= 2099 and day <= calendar.monthrange(year, month)[1] for year in years
    )


def _personal_number_kind(m: re.Match[str]) -> str | None:
    """A date and four digits. With a separator or a century it is shaped like a
    personnummer even when the check digit is wrong (a pupil's number mistyped is still
    one); ten bare digits need the check digit, or a mobile number would be one too."""
    shaped = bool(m["sep"] and m["sep"].strip()) or m["century"] is not None
    if not shaped and not _luhn(m["yy"] + m["mm"] + m["dd"] + m["last"]):
        return None
    month, day = int(m["mm"]), int(m["dd"])
    if _date_exists(m["century"], m["yy"], month, day):
        return "personnummer"
    if day > 60 and _date_exists(m["century"], m["yy"], month, day - 60):
        return "samordningsnummer"
    return None


def personal_data(text: str) -> list[str]:
    """Kinds of personal data in the text, in order of appearance, each named once:
    "personnummer", "samordningsnummer", "e-postadress", "telefonnummer"."""
    found: list[tuple[int, int, str]] = []
    for m in _RE_PERSONAL_NUMBER.finditer(text):
        kind = _personal_number_kind(m)
        if kind is not None:
            found.append((m.start(), m.end(), kind))
    found.extend((m.start(), m.end(), "e-postadress") for m in _RE_EMAIL.finditer(text))
    for m in _RE_PHONE.finditer(text):
        digits = len(m["area"]) + sum(c.isdigit() for c in m["rest"])
        if 7 <= digits <= 9:
            found.append((m.start(), m.end(), "telefonnummer"))

    # A span already taken by a personnummer or an address is not also a phone number.
    kept: list[tuple[int, int, str]] = []
    for start, end, kind in found:
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, kind))
    kinds: list[str] = []
    for _, _, kind in sorted(kept):
        if kind not in kinds:
            kinds.append(kind)
    return kinds
