"""Swedish dates and periods as teachers write them, normalised to (start, end) inclusive.

Theory of operation: the text is lower-cased and tidied, then read either as one *point*
("15 mars", "v. 12", "ht-26", "läsåret 26/27") or as two points around a range separator
("ht-20 – vt-22", "v. 12–15", "jan–mars 2027"). A point may lack its year; in a range it
borrows the year from the other side ("16–22 mars 2026"), alone it takes the year that puts it
nearest today (a past occurrence only while it lies less than about six months back). The
hyphen is both a date separator and a range separator, so the whole text is tried first, then
the unambiguous separators (–, —, "till", "t.o.m."), then each hyphen in turn.

No library reads "ht-20" or "vt -22", hence the hand-written grammar below. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

MONTHS: tuple[str, ...] = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
_MONTH_ABBREVIATIONS = {"sept": 9}

# A yearless point is placed in the first year whose occurrence starts after this far back.
_LOOKBACK = dt.timedelta(days=182)


class Period(NamedTuple):
    """A day or a period, first and last day inclusive. A tuple, so `start, end = ...` and
    `period[0]` work as they did; stored answers keep both (AnswerValue.start/end)."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def describe(self) -> str:
        return describe_period(self.start, self.end)


_Kind = Literal["day", "month", "week", "term", "schoolyear", "year", "number"]


@dataclass(frozen=True)
class _Point:
    """One side of a period, as written; `year` is None when the teacher left it out."""

    kind: _Kind
    year: int | None = None
    month: int = 0
    day: int = 0
    week: int = 0
    autumn: bool = False  # term: ht (True) or vt (False)


def month_number(word: str) -> int | None:
    """1–12 for a Swedish month name or abbreviation ("mars", "mar", "sept."), else None."""
    word = word.strip().rstrip(".").casefold()
    if word in _MONTH_ABBREVIATIONS:
        return _MONTH_ABBREVIATIONS[word]
    if len(word) < 3:
        return None
    for number, name in enumerate(MONTHS, start=1):
        if name.startswith(word):
            return number
    return None


def _year(digits: str | None) -> int | None:
    if digits is None:
        return None
    value = int(digits)
    return 2000 + value if len(digits) == 2 else value


_YEAR_AFTER = r"(?:(?:\s*[-,/]\s*|\s+)(?P<y4>\d{4})|\s*[-'’]\s*(?P<y2>\d{2}))?"
_RE_ISO = re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})")
_RE_NUMERIC = re.compile(
    r"(?P<d>\d{1,2})[/.](?P<m>\d{1,2})(?:(?:\s*[-/.]\s*|\s+)(?P<y>\d{4}|\d{2}))?"
)
_RE_DAY_MONTH = re.compile(
    r"(?P<d>\d{1,2})(?::(?:e|a|de))?\s*(?P<month>[a-zåäö]+)\.?" + _YEAR_AFTER
)
_RE_MONTH = re.compile(r"(?P<month>[a-zåäö]+)\.?" + _YEAR_AFTER)
_RE_WEEK = re.compile(
    r"(?:v|v\.|vecka|veckan|vnr|w|week)\s*(?P<w>\d{1,2})"
    r"(?:(?:\s*[-,/]\s*|\s+)(?P<y4>\d{4}))?"
)
_RE_TERM = re.compile(
    r"(?P<term>ht|vt|hösttermin(?:en)?|vårtermin(?:en)?|hösten|våren)\.?"
    r"(?:\s*[-'’]?\s*(?P<y>\d{4}|\d{2}))?"
)
_RE_SCHOOLYEAR = re.compile(
    r"(?:läsåret|läsår|lå)\.?\s*(?P<a>\d{4}|\d{2})\s*[/–—-]\s*(?P<b>\d{4}|\d{2})"
)
_RE_YEAR = re.compile(r"(?P<y>\d{4})")
_RE_NUMBER = re.compile(r"(?P<n>\d{1,2})")

_LEADING_WORDS = re.compile(
    r"^(?:den|från|from|fr\.?\s?o\.?\s?m\.?|start|senast|under|med start)\s+", re.IGNORECASE
)
_STRONG_SEPARATORS = re.compile(r"\s*[–—]\s*|\s+(?:till|t\.?\s?o\.?\s?m\.?|tom)\s+|\s+-\s+")
_HYPHEN = re.compile(r"\s*-\s*")


def _point(text: str) -> _Point | None:
    """Read one side of a period; None when it is not a date or period we know."""
    text = _LEADING_WORDS.sub("", text.strip()).strip()
    if m := _RE_ISO.fullmatch(text):
        return _Point("day", int(m["y"]), int(m["m"]), int(m["d"]))
    if m := _RE_NUMERIC.fullmatch(text):
        return _Point("day", _year(m["y"]), int(m["m"]), int(m["d"]))
    if m := _RE_WEEK.fullmatch(text):
        return _Point("week", _year(m["y4"]), week=int(m["w"]))
    if m := _RE_SCHOOLYEAR.fullmatch(text):
        first, second = _year(m["a"]), _year(m["b"])
        if first is None or second != first + 1:
            return None
        return _Point("schoolyear", first)
    if m := _RE_TERM.fullmatch(text):
        autumn = m["term"].startswith(("h", "H"))
        return _Point("term", _year(m["y"]), autumn=autumn)
    if m := _RE_DAY_MONTH.fullmatch(text):
        month = month_number(m["month"])
        if month is None:
            return None
        return _Point("day", _year(m["y4"] or m["y2"]), month, int(m["d"]))
    if m := _RE_MONTH.fullmatch(text):
        month = month_number(m["month"])
        if month is None:
            return None
        return _Point("month", _year(m["y4"] or m["y2"]), month)
    if m := _RE_YEAR.fullmatch(text):
        return _Point("year", int(m["y"]))
    if m := _RE_NUMBER.fullmatch(text):
        return _Point("number", day=int(m["n"]))
    return None


def _span(point: _Point, year: int) -> tuple[dt.date, dt.date] | None:
    """The days a point covers when it falls in `year`; None for an impossible date."""
    try:
        match point.kind:
            case "day":
                day = dt.date(year, point.month, point.day)
                return day, day
            case "month":
                first = dt.date(year, point.month, 1)
                following = dt.date(year + point.month // 12, point.month % 12 + 1, 1)
                return first, following - dt.timedelta(days=1)
            case "week":
                return (
                    dt.date.fromisocalendar(year, point.week, 1),
                    dt.date.fromisocalendar(year, point.week, 7),
                )
            case "term":
                if point.autumn:
                    return dt.date(year, 8, 1), dt.date(year, 12, 31)
                return dt.date(year, 1, 1), dt.date(year, 6, 30)
            case "schoolyear":
                return dt.date(year, 8, 1), dt.date(year + 1, 6, 30)
            case "year":
                return dt.date(year, 1, 1), dt.date(year, 12, 31)
            case "number":
                return None
    except ValueError:
        return None


def _nearest(point: _Point, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """A yearless point in the first year whose occurrence starts at most ~6 months back."""
    if point.year is not None:
        return _span(point, point.year)
    for year in range(today.year - 1, today.year + 5):
        span = _span(point, year)
        if span is not None and span[0] >= today - _LOOKBACK:
            return span
    return None


def _single(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    point = _point(text)
    return None if point is None else _nearest(point, today)


def _range(left: _Point, right: _Point, today: dt.date) -> tuple[dt.date, dt.date] | None:
    # A bare number borrows its meaning from the other side: "16–22 mars", "v. 12–15".
    if left.kind == "number":
        if right.kind in ("day", "week"):
            left = replace(right, day=left.day, week=left.day)
        else:
            return None
    if right.kind == "number":
        if left.kind in ("day", "week"):
            right = replace(left, day=right.day, week=right.day)
        else:
            return None

    if left.year is None and right.year is not None:
        end = _span(right, right.year)
        if end is None:
            return None
        start = _span(left, end[1].year)
        if start is not None and start[0] > end[1]:
            start = _span(left, end[1].year - 1)
    else:
        start = _nearest(left, today)
        if start is None:
            return None
        if right.year is not None:
            end = _span(right, right.year)
        else:
            end = _span(right, start[0].year)
            if end is not None and end[1] < start[0]:
                end = _span(right, start[0].year + 1)
    if start is None or end is None or end[1] < start[0]:
        return None
    return start[0], end[1]


def parse_when(text: str, today: dt.date) -> Period | None:
    """A day or a period as a teacher writes it -> Period(start, end) inclusive, or None.

    The whole span is kept: "v. 12 2027" is Monday 22 – Sunday 28 March 2027, and whoever
    needs one day of it picks it (a reminder takes the first school day, see
    dialogs.reminders), rather than the parser guessing."""
    text = " ".join(text.replace("\u00a0", " ").split()).casefold().strip(" .,;:!")
    if not text:
        return None
    whole = _single(text, today)
    if whole is not None:
        return Period(*whole)
    for separators in (_STRONG_SEPARATORS, _HYPHEN):
        for m in separators.finditer(text):
            left, right = _point(text[: m.start()]), _point(text[m.end() :])
            if left is None or right is None:
                continue
            found = _range(left, right, today)
            if found is not None:
                return Period(*found)
    return None


# Date-like stretches inside free text ("Vid avstämningen v. 12 2027 och i juni"): a week,
# a term, an ISO or numeric date, a day with a month name, or a month name with a year.
_MONTH_WORD = r"(?:jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec)[a-zåäö]*\.?"
_IN_TEXT = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\b(?:v|v\.|vecka|veckan)\s*\d{1,2}(?:(?:\s*[-,/]\s*|\s+)\d{4})?\b"
    r"|\b(?:ht|vt)\s*[-'’]?\s*(?:\d{4}|\d{2})\b"
    r"|\b\d{1,2}\s*" + _MONTH_WORD + r"(?:\s+\d{4})?"
    r"|\b" + _MONTH_WORD + r"\s+\d{4}\b",
    re.IGNORECASE,
)


def find_when(text: str, today: dt.date) -> Period | None:
    """The first date or period mentioned in free text, or None.

    For answers that are prose but may name a time ("Uppföljning – när": "I samband med
    avstämningen v. 12 2027"). The whole text is tried first; then each date-like stretch."""
    whole = parse_when(text, today)
    if whole is not None:
        return whole
    for m in _IN_TEXT.finditer(text.casefold()):
        found = parse_when(m.group(0), today)
        if found is not None:
            return found
    return None


def read_back(text: str, start: dt.date, end: dt.date) -> str:
    """What the bot understood, for the teacher to check: "v. 12 2027 → 22–28 mars 2027";
    just the date when the teacher already wrote it so ("15 mars 2026")."""
    written = describe_period(start, end)
    shown = " ".join(text.split())
    if not shown or shown.casefold() == written.casefold():
        return written
    return f"{shown} → {written}"


def _day_month(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def describe_period(start: dt.date, end: dt.date) -> str:
    """The period written out in Swedish: "15 mars 2026", "16–22 mars 2026",
    "1 augusti – 31 december 2026", "1 augusti 2026 – 30 juni 2027"."""
    if start == end:
        return f"{_day_month(start)} {start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {MONTHS[start.month - 1]} {start.year}"
    if start.year == end.year:
        return f"{_day_month(start)} – {_day_month(end)} {end.year}"
    return f"{_day_month(start)} {start.year} – {_day_month(end)} {end.year}"


WEEKDAYS: tuple[str, ...] = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")


def describe_day(day: dt.date) -> str:
    """One day with its weekday, as a reminder's day is told: "måndag 22 mars 2027"."""
    return f"{WEEKDAYS[day.weekday()]} {describe_period(day, day)}"
