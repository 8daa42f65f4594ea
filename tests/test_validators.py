"""Answer validation, text cleaning and personal-data warnings, as a teacher meets them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from dialogs.messages import Messages
from dialogs.template import AnswerType, Question
from dialogs.types import AnswerValue
from dialogs.validators import (
    Invalid,
    clean_text,
    parse_choice,
    personal_data,
    validate,
)

TODAY = dt.date(2026, 1, 20)
SEEDS = Path("/work/shared/seeds")
NBSP = "\u00a0"

SKOLFORMER = ("Förskola", "Grundskola", "Gymnasieskola", "Fritidshem")


def question(type: AnswerType = AnswerType.LONG_TEXT, **fields: Any) -> Question:
    return Question(id="x", label="X", prompt="?", type=type, **fields)


def luhn_complete(first_nine: str) -> str:
    """The ten digits of a personnummer whose control digit makes the Luhn sum whole."""
    total = 0
    for i, char in enumerate(first_nine):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return first_nine + str((10 - total % 10) % 10)


def luhn_wrong(first_nine: str) -> str:
    right = luhn_complete(first_nine)
    return right[:-1] + str((int(right[-1]) + 1) % 10)


# --------------------------------------------------------------------------- every type


@pytest.mark.parametrize(
    ("q", "typed", "expected"),
    [
        (question(AnswerType.TEXT), "Skolfrånvaro i åk 7", AnswerValue(text="Skolfrånvaro i åk 7")),
        (question(AnswerType.TEXT), "Två\nrader", AnswerValue(text="Två rader")),
        (
            question(AnswerType.LONG_TEXT),
            "Första stycket.\n\nAndra stycket.",
            AnswerValue(text="Första stycket.\n\nAndra stycket."),
        ),
        (
            question(AnswerType.LIST),
            "- Låga resultat i matematik\n- Brister i språkutveckling",
            AnswerValue(
                text="- Låga resultat i matematik\n- Brister i språkutveckling",
                items=("Låga resultat i matematik", "Brister i språkutveckling"),
            ),
        ),
        (
            question(AnswerType.LIST),
            "* a\n• b\n– c\n1. d\n2) e\nf",
            AnswerValue(text="* a\n• b\n– c\n1. d\n2) e\nf", items=("a", "b", "c", "d", "e", "f")),
        ),
        (
            question(AnswerType.LIST),
            "Rektor; lärare ;elevhälsan",
            AnswerValue(
                text="Rektor; lärare ;elevhälsan", items=("Rektor", "lärare", "elevhälsan")
            ),
        ),
        (
            question(AnswerType.LIST),
            "- 1,5 timme i veckan",
            AnswerValue(text="- 1,5 timme i veckan", items=("1,5 timme i veckan",)),
        ),
        (
            question(AnswerType.DATE),
            "15 mars",
            AnswerValue(text="15 mars", start=dt.date(2026, 3, 15), end=dt.date(2026, 3, 15)),
        ),
        (
            question(AnswerType.PERIOD),
            "ht-20 – vt-22",
            AnswerValue(text="ht-20 – vt-22", start=dt.date(2020, 8, 1), end=dt.date(2022, 6, 30)),
        ),
        (question(AnswerType.COUNT), "12", AnswerValue(text="12", number=12)),
        (question(AnswerType.COUNT), "ca 10", AnswerValue(text="ca 10", number=10)),
        (question(AnswerType.COUNT), "ungefär 25 st", AnswerValue(text="ungefär 25 st", number=25)),
        (question(AnswerType.COUNT), "1 200 elever", AnswerValue(text="1 200 elever", number=1200)),
        (question(AnswerType.COUNT), "tio", AnswerValue(text="tio", number=10)),
        (question(AnswerType.COUNT), "ca tolv st", AnswerValue(text="ca tolv st", number=12)),
        (question(AnswerType.COUNT), "0", AnswerValue(text="0", number=0)),
        (question(AnswerType.COUNT), "100000", AnswerValue(text="100000", number=100000)),
        (question(AnswerType.YESNO), "ja", AnswerValue(text="ja", choice="ja")),
        (question(AnswerType.YESNO), "Japp!", AnswerValue(text="Japp!", choice="ja")),
        (question(AnswerType.YESNO), "absolut", AnswerValue(text="absolut", choice="ja")),
        (question(AnswerType.YESNO), "👍", AnswerValue(text="👍", choice="ja")),
        (question(AnswerType.YESNO), "👍🏽", AnswerValue(text="👍🏽", choice="ja")),
        (question(AnswerType.YESNO), "J", AnswerValue(text="J", choice="ja")),
        (question(AnswerType.YESNO), "Nej", AnswerValue(text="Nej", choice="nej")),
        (question(AnswerType.YESNO), "nope", AnswerValue(text="nope", choice="nej")),
        (question(AnswerType.YESNO), "👎", AnswerValue(text="👎", choice="nej")),
        (
            question(AnswerType.CHOICE, choices=SKOLFORMER),
            "2",
            AnswerValue(text="Grundskola", choice="Grundskola"),
        ),
        (
            question(AnswerType.CHOICE, choices=SKOLFORMER),
            "FORSKOLA",
            AnswerValue(text="Förskola", choice="Förskola"),
        ),
        (
            question(AnswerType.CHOICE, choices=SKOLFORMER),
            "gym",
            AnswerValue(text="Gymnasieskola", choice="Gymnasieskola"),
        ),
        (
            question(AnswerType.CHOICE, choices=SKOLFORMER, allow_other=True),
            "Vuxenutbildning",
            AnswerValue(text="Vuxenutbildning", choice="Annat"),
        ),
    ],
)
def test_accepts_answers_of_every_type(q: Question, typed: str, expected: AnswerValue) -> None:
    assert validate(q, typed, TODAY) == expected


@pytest.mark.parametrize(
    ("q", "typed", "reason"),
    [
        (question(AnswerType.LIST), "-\n*\n•", "empty_list"),
        (question(AnswerType.DATE), "snart", "bad_date"),
        (question(AnswerType.PERIOD), "vt-22 – ht-20", "bad_date"),
        (question(AnswerType.COUNT), "många", "bad_count"),
        (question(AnswerType.COUNT), "ett tiotal", "bad_count"),
        (question(AnswerType.COUNT), "en del", "bad_count"),
        (question(AnswerType.COUNT), "-3", "bad_count"),
        (question(AnswerType.COUNT), "100001", "bad_count"),
        (question(AnswerType.COUNT), "2,5", "bad_count"),
        (question(AnswerType.COUNT), "12 lärare och 3 rektorer", "bad_count"),
        (question(AnswerType.YESNO), "kanske", "bad_yesno"),
        (question(AnswerType.CHOICE, choices=SKOLFORMER), "Vuxenutbildning", "bad_choice"),
        (question(AnswerType.CHOICE, choices=SKOLFORMER), "5", "bad_choice"),
        (question(AnswerType.CHOICE, choices=SKOLFORMER), "g", "bad_choice"),
        (question(AnswerType.CHOICE, choices=SKOLFORMER, allow_other=True), "9", "bad_choice"),
        (
            question(AnswerType.CHOICE, choices=SKOLFORMER, allow_other=True),
            "annat",
            "other_needs_text",
        ),
    ],
)
def test_rejects_answers_it_cannot_read(q: Question, typed: str, reason: str) -> None:
    result = validate(q, typed, TODAY)
    assert isinstance(result, Invalid)
    assert result.reason == reason


def test_bad_choice_lists_the_numbered_choices() -> None:
    result = validate(question(AnswerType.CHOICE, choices=SKOLFORMER), "Universitet", TODAY)
    assert result == Invalid(
        "bad_choice", {"choices": "1. Förskola, 2. Grundskola, 3. Gymnasieskola, 4. Fritidshem"}
    )


def test_bad_date_suggests_the_templates_own_example() -> None:
    q = question(AnswerType.PERIOD, example="ht-20 – vt-22")
    assert validate(q, "i höst typ", TODAY) == Invalid("bad_date", {"example": "ht-20 – vt-22"})


def test_bad_period_without_example_suggests_the_coming_school_year() -> None:
    result = validate(question(AnswerType.PERIOD), "snart", TODAY)
    assert result == Invalid("bad_date", {"example": "ht-26 – vt-27"})


# --------------------------------------------------------------------------- empty and length


@pytest.mark.parametrize("type_", list(AnswerType))
@pytest.mark.parametrize("typed", ["", "   ", "\n\n \t\n", "\x00\x07"])
def test_empty_answer_to_required_question_is_asked_again(type_: AnswerType, typed: str) -> None:
    choices = SKOLFORMER if type_ is AnswerType.CHOICE else ()
    q = question(type_, choices=choices)
    assert validate(q, typed, TODAY) == Invalid("required")


@pytest.mark.parametrize("type_", list(AnswerType))
def test_empty_answer_to_optional_question_is_not_taken_as_an_answer(type_: AnswerType) -> None:
    choices = SKOLFORMER if type_ is AnswerType.CHOICE else ()
    q = question(type_, choices=choices, required=False)
    assert validate(q, "  ", TODAY) == Invalid("empty")


def test_accepts_20000_characters_when_the_question_allows_them() -> None:
    typed = "Elevernas närvaro har sjunkit. " * 645  # 19,995 characters
    result = validate(question(AnswerType.LONG_TEXT, max_length=20_000), typed, TODAY)
    assert isinstance(result, AnswerValue)
    assert result.text == typed.rstrip()


def test_rejects_20000_characters_with_both_numbers_when_only_4000_fit() -> None:
    typed = "x" * 20_000
    result = validate(question(AnswerType.LONG_TEXT, max_length=4000), typed, TODAY)
    assert result == Invalid("too_long", {"max": f"4{NBSP}000", "length": f"20{NBSP}000"})


def test_counts_length_after_cleaning() -> None:
    typed = "a" * 10 + "\x00" * 50 + "   \n\n\n\n\n"
    assert validate(question(max_length=10), typed, TODAY) == AnswerValue(text="a" * 10)


def test_rejects_too_short_nulagesanalys_with_both_numbers() -> None:
    result = validate(question(min_length=40), "Hög frånvaro.", TODAY)
    assert result == Invalid("too_short", {"min": "40", "length": "13"})


@pytest.mark.parametrize(
    "typed",
    ["vet ej", "Vet inte", "VET EJ.", "-", "?", "x", "ingen aning", "...", "…", "tbd", " TBD "],
)
def test_rejects_bare_vet_ej_as_nulagesanalys(typed: str) -> None:
    q = question(AnswerType.LONG_TEXT, min_length=20)
    assert validate(q, typed, TODAY) == Invalid("placeholder")


def test_accepts_vet_ej_where_no_minimum_length_is_asked() -> None:
    assert validate(question(AnswerType.TEXT), "vet ej", TODAY) == AnswerValue(text="vet ej")


# --------------------------------------------------------------------------- cleaning


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Hej\x00 då", "Hej då"),
        ("a\x01\x02\x08\x0e\x1f\x7fb", "ab"),
        ("a\x80\x85\x9fb", "ab"),  # C1 controls
        ("a\ud800b\udfffc", "abc"),  # lone surrogates
        ("a\ufffeb\uffffc", "abc"),
        ("tab\tstays", "tab\tstays"),
        ("rad 1\r\nrad 2\rrad 3", "rad 1\nrad 2\nrad 3"),
        ("Word-radbrytning\x0bnästa rad", "Word-radbrytning\nnästa rad"),
        ("slut   \nnästa \t", "slut\nnästa"),
        ("\n\n  \nText\n\n\n", "Text"),
        ("ett\n\n\n\n\n\ntvå", "ett\n\ntvå"),
        ("ett\n \n\t\n \n\ntvå", "ett\n\ntvå"),
        ("ett\n\ntvå", "ett\n\ntvå"),
        ("Bra jobbat 🎉👩🏽‍🏫", "Bra jobbat 🎉👩🏽‍🏫"),
        ("مرحبا بالمعلمين", "مرحبا بالمعلمين"),
        ("שלום למורים", "שלום למורים"),
        ("{{ 7*7 }} {% if x %}", "{{ 7*7 }} {% if x %}"),
        ("Åäö éü ß 中文", "Åäö éü ß 中文"),
    ],
)
def test_cleans_what_word_cannot_hold_and_keeps_everything_else(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    "typed",
    [
        "Bra jobbat 🎉👩🏽‍🏫",
        "مرحبا بالمعلمين — نحن نعمل على الحضور",
        "שלום למורים",
        "{{ 7*7 }}",
        "{% raw %}",
    ],
)
def test_keeps_emoji_right_to_left_text_and_template_syntax_literal(typed: str) -> None:
    for type_ in (AnswerType.TEXT, AnswerType.LONG_TEXT):
        assert validate(question(type_), typed, TODAY) == AnswerValue(text=typed)


def test_control_characters_never_reach_the_stored_answer() -> None:
    result = validate(question(AnswerType.LONG_TEXT), "Mål\x00:\x1b öka\x07 närvaron", TODAY)
    assert result == AnswerValue(text="Mål: öka närvaron")


# --------------------------------------------------------------------------- choices


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("1", "Förskola"),
        ("4.", "Fritidshem"),
        ("Grundskola", "Grundskola"),
        ("  grundskola  ", "Grundskola"),
        ("forskola", "Förskola"),
        ("FRITIDS", "Fritidshem"),
        ("gru", "Grundskola"),
        ("gr", None),  # too short to be sure
        ("0", None),
        ("Universitet", None),
    ],
)
def test_finds_the_choice_a_teacher_typed_without_buttons(typed: str, label: str | None) -> None:
    assert parse_choice(question(AnswerType.CHOICE, choices=SKOLFORMER), typed) == label


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("ja", "ja"), ("Japp", "ja"), ("👍", "ja"), ("nej", "nej"), ("N", "nej"), ("tja", None)],
)
def test_reads_yes_and_no_typed_instead_of_pressing_a_button(
    typed: str, answer: str | None
) -> None:
    assert parse_choice(question(AnswerType.YESNO), typed) == answer


def test_ambiguous_prefix_matches_no_choice() -> None:
    q = question(AnswerType.CHOICE, choices=("Grundskola", "Grundsärskola"))
    assert parse_choice(q, "grund") is None
    assert parse_choice(q, "grunds") is None
    assert parse_choice(q, "grundsä") == "Grundsärskola"


# --------------------------------------------------------------------------- personal data

VALID_PNR = luhn_complete("811218987")  # Skatteverket's own test number 811218-9876
INVALID_PNR = luhn_wrong("811218987")
VALID_SAMORDNING = luhn_complete("701063239")  # day 63 = 3rd + 60


def test_test_numbers_are_what_they_claim() -> None:
    assert VALID_PNR == "8112189876"
    assert INVALID_PNR == "8112189877"
    assert VALID_SAMORDNING == "7010632391"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (f"Eleven har nummer {VALID_PNR[:6]}-{VALID_PNR[6:]}.", ["personnummer"]),
        (f"19{VALID_PNR[:6]}-{VALID_PNR[6:]}", ["personnummer"]),
        (f"19{VALID_PNR}", ["personnummer"]),
        (VALID_PNR, ["personnummer"]),
        (f"{VALID_PNR[:6]}+{VALID_PNR[6:]}", ["personnummer"]),
        (f"{VALID_SAMORDNING[:6]}-{VALID_SAMORDNING[6:]}", ["samordningsnummer"]),
        ("Maila anna.svensson@skola.kommun.se om frågor", ["e-postadress"]),
        ("Ring 070-123 45 67", ["telefonnummer"]),
        ("070-1234567", ["telefonnummer"]),
        ("0701234567", ["telefonnummer"]),
        ("+46 70 123 45 67", ["telefonnummer"]),
        ("+46701234567", ["telefonnummer"]),
        ("08-123 456 78", ["telefonnummer"]),
        ("031-123 45 67", ["telefonnummer"]),
        ("0413-123 45", ["telefonnummer"]),
        (
            f"Ring 070-123 45 67 eller maila a@b.se, pnr {VALID_PNR}, tel 08-123 456 78",
            ["telefonnummer", "e-postadress", "personnummer"],
        ),
    ],
)
def test_warns_about_personal_data(text: str, kinds: list[str]) -> None:
    assert personal_data(text) == kinds


DASHES = {
    "hyphen-minus": "-",
    "hyphen": "\u2010",
    "non-breaking hyphen": "\u2011",
    "figure dash": "\u2012",
    "en dash": "\u2013",
    "em dash": "\u2014",
    "minus sign": "\u2212",
    "full-width hyphen-minus": "\uff0d",
}
SPACING = {"tight": "{}", "spaced": " {} ", "no-break spaces": "\u00a0{}\u00a0"}


@pytest.mark.parametrize("spacing", SPACING.values(), ids=list(SPACING))
@pytest.mark.parametrize("dash", DASHES.values(), ids=list(DASHES))
@pytest.mark.parametrize("century", ["", "19"], ids=["10 digits", "12 digits"])
def test_personnummer_with_any_dash_pasted_from_word_gets_the_warning(
    dash: str, spacing: str, century: str
) -> None:
    sep = spacing.format(dash)
    for number, kind in ((VALID_PNR, "personnummer"), (VALID_SAMORDNING, "samordningsnummer")):
        text = f"Eleven med nummer {century}{number[:6]}{sep}{number[6:]} har hög frånvaro."
        assert personal_data(text) == [kind], text


@pytest.mark.parametrize("spacing", SPACING.values(), ids=list(SPACING))
def test_personnummer_with_plus_for_a_centenarian_gets_the_warning(spacing: str) -> None:
    text = f"Nummer {VALID_PNR[:6]}{spacing.format('+')}{VALID_PNR[6:]}"
    assert personal_data(text) == ["personnummer"]


@pytest.mark.parametrize("dash", DASHES.values(), ids=list(DASHES))
def test_mistyped_personnummer_is_called_a_personnummer_not_a_phone_number(dash: str) -> None:
    # Born 1 Jan 2001 with the last digit wrong: shaped like a personnummer, and its digits
    # also fit a Swedish phone number (010-…). The warning must say what it is.
    born_2001 = luhn_wrong("010101123")
    assert personal_data(f"{born_2001[:6]}{dash}{born_2001[6:]}") == ["personnummer"]
    assert personal_data(f"20{born_2001[:6]}{dash}{born_2001[6:]}") == ["personnummer"]
    assert personal_data(f"{INVALID_PNR[:6]}{dash}{INVALID_PNR[6:]}") == ["personnummer"]


@pytest.mark.parametrize(
    "text",
    [
        INVALID_PNR,  # ten bare digits with a wrong check digit: an id of some other kind
        "811318-9876",  # month 13
        "2026-03-15",
        "15/3 2026",
        "v. 12",
        "ht-20-vt -22",
        "aug-20 – juni -22",
        "två rektorer på heltid sedan 220301",
        "Högre resultat i NP 3,6,9",
        "Kostnader för personal som uppgår till ca 800 tkr.",
        "á 10 % under perioden",
        "Regeringsuppdraget (U2019/03786/S)",
        "https://www.skolverket.se/skolutveckling/leda-och-organisera-skolan",
        "01-01-2026",
        "Läsåret 2022/2023 hade 1 234 elever",
        "{{ 7*7 }}",
    ],
)
def test_no_personal_data_alarm_on_ordinary_plan_text(text: str) -> None:
    assert personal_data(text) == []


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_no_personal_data_alarm_on_the_seed_documents(seed: Path) -> None:
    assert personal_data(seed.read_text(encoding="utf-8")) == []


# --------------------------------------------------------------------------- messages

EVERY_REASON = [
    (question(), "", "required"),
    (question(required=False), "", "empty"),
    (question(min_length=20), "kort", "too_short"),
    (question(max_length=5), "för långt svar", "too_long"),
    (question(min_length=20), "vet ej", "placeholder"),
    (question(AnswerType.LIST), "-", "empty_list"),
    (question(AnswerType.DATE), "snart", "bad_date"),
    (question(AnswerType.COUNT), "många", "bad_count"),
    (question(AnswerType.YESNO), "kanske", "bad_yesno"),
    (question(AnswerType.CHOICE, choices=SKOLFORMER), "Universitet", "bad_choice"),
    (
        question(AnswerType.CHOICE, choices=SKOLFORMER, allow_other=True),
        "Annat",
        "other_needs_text",
    ),
]


def test_every_reason_has_a_friendly_swedish_text() -> None:
    messages = Messages.load()
    for q, typed, reason in EVERY_REASON:
        result = validate(q, typed, TODAY)
        assert isinstance(result, Invalid), (typed, result)
        assert result.reason == reason
        text = messages("invalid." + result.reason, **result.params)
        assert text and "{{" not in text
        for value in result.params.values():
            assert str(value) in text
    for kind in ("personnummer", "samordningsnummer", "e-postadress", "telefonnummer"):
        assert messages("pii." + kind)


def test_too_long_message_shows_swedish_numbers() -> None:
    result = validate(question(max_length=4000), "x" * 5230, TODAY)
    assert isinstance(result, Invalid)
    text = Messages.load()("invalid." + result.reason, **result.params)
    assert f"5{NBSP}230" in text
    assert f"4{NBSP}000" in text
