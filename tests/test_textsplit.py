"""bot/textsplit.py `fit_text`: escaped text fitted into a platform's limit, as both chat
channels use it (Telegram's HTML, Slack's mrkdwn)."""

from __future__ import annotations

import html

import pytest

from bot.slack import escape_mrkdwn
from bot.telegram import telegram_length
from bot.textsplit import fit_text


def test_text_that_grows_when_escaped_is_split_until_every_piece_fits() -> None:
    text = "\n\n".join(["Elever & vårdnadshavare <åk 7> " * 40] * 3)
    pieces = fit_text(text, 500, render=escape_mrkdwn)
    assert all(len(p) <= 500 for p in pieces)
    assert len(pieces) > 3  # the escaping alone made the paragraphs too long
    plain = " ".join(
        p.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">") for p in pieces
    )
    assert plain.split() == text.split()  # nothing lost, no word cut


def test_telegram_counts_astral_characters_twice_and_tags_count_too() -> None:
    text = "🙂 " * 3000

    def wrap(s: str) -> str:
        return f"<i>{html.escape(s, quote=False)}</i>"

    pieces = fit_text(text, 4096, render=wrap, measure=telegram_length)
    assert all(telegram_length(p) <= 4096 for p in pieces)
    assert sum(p.count("🙂") for p in pieces) == 3000


def test_a_single_character_that_cannot_fit_is_an_error_not_a_loop() -> None:
    with pytest.raises(ValueError):
        fit_text("&&&", 3, render=lambda s: s.replace("&", "&amp;"))
