"""Dates and periods as Swedish teachers write them."""

from __future__ import annotations

import datetime as dt

import pytest

from dialogs.dates import describe_period, parse_when

D = dt.date
TODAY = D(2026, 1, 20)


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        # one day
        ("2026-03-15", D(2026, 3, 15), D(2026, 3, 15)),
        ("15/3 2026", D(2026, 3, 15), D(2026, 3, 15)),
        ("15/3-2026", D(2026, 3, 15), D(2026, 3, 15)),
        ("15 mars 2026", D(2026, 3, 15), D(2026, 3, 15)),
        ("15 Mars 2026.", D(2026, 3, 15), D(2026, 3, 15)),
        ("den 15 mars 2026", D(2026, 3, 15), D(2026, 3, 15)),
        ("15:e mars 2026", D(2026, 3, 15), D(2026, 3, 15)),
        ("15 mar. 2026", D(2026, 3, 15), D(2026, 3, 15)),
        ("15 mars", D(2026, 3, 15), D(2026, 3, 15)),
        ("15/3", D(2026, 3, 15), D(2026, 3, 15)),
        ("3 sept.", D(2025, 9, 3), D(2025, 9, 3)),  # under six months back: this school year
        ("3 juni", D(2026, 6, 3), D(2026, 6, 3)),
        # whole months
        ("mars 2026", D(2026, 3, 1), D(2026, 3, 31)),
        ("FEB 2028", D(2028, 2, 1), D(2028, 2, 29)),
        ("aug-20", D(2020, 8, 1), D(2020, 8, 31)),
        ("juni -22", D(2022, 6, 1), D(2022, 6, 30)),
        ("okt", D(2025, 10, 1), D(2025, 10, 31)),  # under six months back
        # ISO weeks
        ("v. 12", D(2026, 3, 16), D(2026, 3, 22)),
        ("v12", D(2026, 3, 16), D(2026, 3, 22)),
        ("V.12", D(2026, 3, 16), D(2026, 3, 22)),
        ("vecka 12", D(2026, 3, 16), D(2026, 3, 22)),
        ("v. 12 2027", D(2027, 3, 22), D(2027, 3, 28)),
        ("v. 1", D(2025, 12, 29), D(2026, 1, 4)),
        ("v. 53 2026", D(2026, 12, 28), D(2027, 1, 3)),
        # terms
        ("ht-26", D(2026, 8, 1), D(2026, 12, 31)),
        ("ht 26", D(2026, 8, 1), D(2026, 12, 31)),
        ("HT2026", D(2026, 8, 1), D(2026, 12, 31)),
        ("ht-2026", D(2026, 8, 1), D(2026, 12, 31)),
        ("vt 2027", D(2027, 1, 1), D(2027, 6, 30)),
        ("vt-27", D(2027, 1, 1), D(2027, 6, 30)),
        ("VT -27", D(2027, 1, 1), D(2027, 6, 30)),
        ("hösten 2026", D(2026, 8, 1), D(2026, 12, 31)),
        ("vårterminen 2027", D(2027, 1, 1), D(2027, 6, 30)),
        ("vt", D(2026, 1, 1), D(2026, 6, 30)),  # the term we are in
        ("ht", D(2025, 8, 1), D(2025, 12, 31)),  # the autumn just past
        # school years
        ("läsåret 26/27", D(2026, 8, 1), D(2027, 6, 30)),
        ("lå 2026/2027", D(2026, 8, 1), D(2027, 6, 30)),
        ("läsåret 22 – 23", D(2022, 8, 1), D(2023, 6, 30)),
        # whole years
        ("2027", D(2027, 1, 1), D(2027, 12, 31)),
        # ranges
        ("ht-20 – vt-22", D(2020, 8, 1), D(2022, 6, 30)),
        ("ht-20-vt -22", D(2020, 8, 1), D(2022, 6, 30)),
        ("ht-20 till vt-22", D(2020, 8, 1), D(2022, 6, 30)),
        ("aug-20 – juni -22", D(2020, 8, 1), D(2022, 6, 30)),
        ("aug-20-juni -22", D(2020, 8, 1), D(2022, 6, 30)),
        ("2026-03-15 – 2026-06-10", D(2026, 3, 15), D(2026, 6, 10)),
        ("2026-03-15 — 2026-06-10", D(2026, 3, 15), D(2026, 6, 10)),
        ("2026-03-15-2026-06-10", D(2026, 3, 15), D(2026, 6, 10)),
        ("2026-03-15 t.o.m. 2026-06-10", D(2026, 3, 15), D(2026, 6, 10)),
        ("från 15 mars till 10 juni", D(2026, 3, 15), D(2026, 6, 10)),
        ("v. 12–15", D(2026, 3, 16), D(2026, 4, 12)),
        ("v12-15", D(2026, 3, 16), D(2026, 4, 12)),
        ("v. 12 – v. 15 2027", D(2027, 3, 22), D(2027, 4, 18)),
        ("jan–mars 2027", D(2027, 1, 1), D(2027, 3, 31)),
        ("nov–feb 2027", D(2026, 11, 1), D(2027, 2, 28)),
        ("16–22 mars 2026", D(2026, 3, 16), D(2026, 3, 22)),
        ("ht-26 – vt", D(2026, 8, 1), D(2027, 6, 30)),
    ],
)
def test_reads_dates_and_periods_as_teachers_write_them(
    written: str, start: dt.date, end: dt.date
) -> None:
    assert parse_when(written, TODAY) == (start, end)


@pytest.mark.parametrize(
    ("today", "written", "start"),
    [
        (D(2026, 10, 1), "15 mars", D(2027, 3, 15)),  # March is past by more than six months
        (D(2026, 6, 1), "15 mars", D(2026, 3, 15)),  # ...or only just past
        (D(2026, 10, 1), "v. 12", D(2027, 3, 22)),
        (D(2026, 12, 20), "v. 2", D(2027, 1, 11)),
        (D(2026, 12, 20), "v. 50", D(2026, 12, 7)),
        (D(2026, 10, 1), "vt", D(2027, 1, 1)),
        (D(2026, 3, 1), "ht", D(2026, 8, 1)),
        (D(2026, 1, 20), "29 feb", D(2028, 2, 29)),
    ],
)
def test_places_a_date_without_year_in_the_nearest_sensible_year(
    today: dt.date, written: str, start: dt.date
) -> None:
    found = parse_when(written, today)
    assert found is not None
    assert found[0] == start


@pytest.mark.parametrize(
    "written",
    [
        "",
        "   ",
        "snart",
        "vet ej",
        "32 mars 2026",
        "2026-02-30",
        "v. 54",
        "v. 53 2027",  # 2027 has 52 ISO weeks
        "läsåret 26/28",
        "2026-06-10 – 2026-03-15",  # ends before it starts
        "vt-22 – ht-20",
        "15",
        "12–15",
        "{{ 7*7 }}",
    ],
)
def test_finds_no_date_in_text_that_is_not_one(written: str) -> None:
    assert parse_when(written, TODAY) is None


@pytest.mark.parametrize(
    ("start", "end", "written"),
    [
        (D(2026, 3, 15), D(2026, 3, 15), "15 mars 2026"),
        (D(2026, 3, 16), D(2026, 3, 22), "16–22 mars 2026"),
        (D(2026, 8, 1), D(2026, 12, 31), "1 augusti – 31 december 2026"),
        (D(2026, 8, 1), D(2027, 6, 30), "1 augusti 2026 – 30 juni 2027"),
        (D(2026, 12, 28), D(2027, 1, 3), "28 december 2026 – 3 januari 2027"),
    ],
)
def test_writes_periods_out_in_swedish(start: dt.date, end: dt.date, written: str) -> None:
    assert describe_period(start, end) == written


def test_described_period_reads_back_as_the_same_period() -> None:
    for text in ("ht-26", "v. 12", "läsåret 26/27", "15 mars 2026", "jan–mars 2027"):
        period = parse_when(text, TODAY)
        assert period is not None
        assert parse_when(describe_period(*period), TODAY) == period
