"""Block Kit rendering stays inside Slack's limits whatever the engine sends, and a teacher's
text survives the round trip through Slack's escaping. Checked with the fake's validator."""

from __future__ import annotations

import datetime as dt

from bot.slack import escape_mrkdwn, fallback_text, from_slack_text, home_view, render_outbound
from dialogs.messages import Messages
from dialogs.types import Choice, Outbound, PlanStatus, PlanSummary
from tests.e2e.slack_fake import (
    MAX_MESSAGE_BLOCKS,
    MAX_VIEW_BLOCKS,
    unescape_mrkdwn,
    validate_blocks,
)


def test_long_text_full_of_ampersands_is_split_below_3000_per_section() -> None:
    paragraph = "Närvaro & trivsel <åk 7> " * 40
    text = "\n\n".join([paragraph] * 12)
    [blocks] = render_outbound(Outbound(text=text))
    validate_blocks(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
    sections = [b["text"]["text"] for b in blocks]
    assert all(len(s) <= 3000 for s in sections) and len(sections) > 1
    joined = "".join(unescape_mrkdwn(s) for s in sections)
    assert "".join(joined.split()) == "".join(text.split())


def test_many_choices_become_several_messages_within_the_limits() -> None:
    choices = tuple(
        Choice(label=f"Alternativ {i} " + "x" * 90, value=f"t1:c{i}") for i in range(80)
    )
    long_text = "\n\n".join(["Bakgrund. " * 250] * 49)  # 49 sections of ~2,500 characters
    out = Outbound(heading="Välj", text=long_text, choices=choices)
    messages = render_outbound(out)
    assert len(messages) >= 2
    values = []
    for blocks in messages:
        validate_blocks(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
        for block in blocks:
            if block["type"] == "actions":
                assert len(block["elements"]) <= 25
                values += [e["value"] for e in block["elements"]]
                assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])
    assert values == [c.value for c in choices]


def test_heading_note_and_progress_render_as_bold_and_context() -> None:
    out = Outbound(
        heading="Mål & syfte", text="Vad vill ni uppnå?", note="Frivillig", progress="1 av 14"
    )
    [blocks] = render_outbound(out)
    assert blocks[0]["text"]["text"] == "*Mål &amp; syfte*"
    assert [b["type"] for b in blocks] == ["section", "section", "context", "context"]
    assert fallback_text(out) == "Mål &amp; syfte\nVad vill ni uppnå?"


def test_slack_text_is_unescaped_and_links_become_plain() -> None:
    raw = "Se <https://www.skolverket.se|Skolverket> &amp; <https://example.se> &lt;3 &gt; 2"
    assert from_slack_text(raw) == "Se Skolverket & https://example.se <3 > 2"
    assert from_slack_text("<mailto:a@b.se|a@b.se>") == "a@b.se"
    assert escape_mrkdwn("a & <b>") == "a &amp; &lt;b&gt;"


def test_home_view_with_many_plans_stays_under_100_blocks() -> None:
    now = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
    plans = [
        PlanSummary(
            id=f"p{i}",
            title=f"Plan {i} & <mer>",
            template_id="handlingsplan",
            template_name="Handlingsplan",
            status=PlanStatus.PLANNED,
            answered=11,
            total=14,
            updated_at=now,
            active=i == 0,
        )
        for i in range(40)
    ]
    view = home_view(plans, Messages.load())
    validate_blocks(view["blocks"], max_blocks=MAX_VIEW_BLOCKS)
    text = str(view)
    assert "Plan 0 &amp; &lt;mer&gt;" in text and "planerad" in text and "11 av 14" in text
    assert "20 planer till" in text
