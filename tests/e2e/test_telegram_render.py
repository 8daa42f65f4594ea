"""How the Telegram adapter words things for Telegram: the pure parts of bot/telegram.py,
checked against the emulator's HTML parser (Telegram's rules) rather than against our guess."""

from __future__ import annotations

import pytest

from bot.telegram import callback_data, render, strip_bot_mention
from dialogs.messages import Messages
from dialogs.types import Choice, Outbound
from tests.e2e.telegram_emulator import parse_html, utf16_len

MESSAGES = Messages.load()


def shown(html: str) -> str:
    return parse_html(html).strip()


def test_a_question_is_progress_heading_body_and_note_in_telegram_html() -> None:
    out = Outbound(
        progress="Steg 2 av 4 · fråga 5 av 14",
        heading="Mål & syfte",
        text="Vilket resultat <vill> ni se?",
        note="Skriv så utförligt du vill.",
        choices=(Choice(label="Ja", value="t1:ja"), Choice(label="Nej", value="t1:nej")),
        is_question=True,
    )
    [part] = render(out, MESSAGES)
    assert part.html == (
        "<i>Steg 2 av 4 · fråga 5 av 14</i>\n<b>Mål &amp; syfte</b>\n\n"
        "Vilket resultat &lt;vill&gt; ni se?\n\n<i>Skriv så utförligt du vill.</i>"
    )
    assert shown(part.html).startswith("Steg 2 av 4 · fråga 5 av 14\nMål & syfte")
    assert part.keyboard is not None
    # Short labels share a row.
    assert [[b.text for b in row] for row in part.keyboard.inline_keyboard] == [["Ja", "Nej"]]


def test_long_labels_get_a_row_each() -> None:
    out = Outbound(
        text="Välj",
        choices=(
            Choice(label="Ja, fyll i resultaten nu", value="t1:now"),
            Choice(label="Senare", value="t1:later"),
        ),
    )
    [part] = render(out, MESSAGES)
    assert part.keyboard is not None
    assert [len(row) for row in part.keyboard.inline_keyboard] == [1, 1]


def test_a_long_text_is_split_at_paragraphs_with_the_keyboard_on_the_last_part() -> None:
    paragraphs = [f"Stycke {n}: " + "närvaro & <trivsel> " * 40 for n in range(30)]
    out = Outbound(
        heading="Översikt",
        text="\n\n".join(paragraphs),
        choices=(Choice(label="Hämta dokumentet", value="t1:export"),),
    )
    parts = render(out, MESSAGES)
    assert len(parts) > 1
    assert all(p.keyboard is None for p in parts[:-1]) and parts[-1].keyboard is not None
    texts = [shown(p.html) for p in parts]  # every part is HTML Telegram accepts
    assert all(utf16_len(p.html) <= 4096 for p in parts)
    assert all(t.startswith(("Översikt", "Stycke")) for t in texts)  # paragraph boundaries
    assert (
        " ".join(" ".join(texts).split())
        == " ".join(["Översikt", *paragraphs]).replace("  ", " ").strip()
    )


def test_one_paragraph_longer_than_a_message_is_split_at_words() -> None:
    text = "&" * 5000 + " " + "ord " * 3000  # escaping makes "&" five characters long
    parts = render(Outbound(text=text), MESSAGES)
    assert all(utf16_len(p.html) <= 4096 for p in parts)
    assert "".join(shown(p.html) for p in parts).replace("\n", "").replace(" ", "") == (
        text.replace(" ", "")
    )


def test_an_outbound_with_only_buttons_still_has_text() -> None:
    [part] = render(Outbound(choices=(Choice(label="Ja", value="t1:ja"),)), MESSAGES)
    assert shown(part.html) == MESSAGES("telegram.choose")


def test_an_outbound_with_only_a_document_sends_no_text() -> None:
    assert render(Outbound(text=" "), MESSAGES) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/hjalp@planbot_test_bot", "/hjalp"),
        ("/start@planbot_test_bot abc", "/start abc"),
        ("/oversikt", "/oversikt"),
        ("mejla mig@skolan.se", "mejla mig@skolan.se"),
    ],
)
def test_the_bot_name_is_taken_off_commands(text: str, expected: str) -> None:
    assert strip_bot_mention(text) == expected


def test_callback_data_stays_within_64_bytes() -> None:
    assert callback_data("t1a2b3c:ja") == "t1a2b3c:ja"
    trimmed = callback_data("å" * 40)
    assert len(trimmed.encode()) <= 64 and trimmed == "å" * 32
