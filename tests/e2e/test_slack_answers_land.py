"""Issue 9 through Slack (the real Bolt app over HTTP against the fake Web API): paragraphs
sent as separate messages a second apart are one answer, a message sent later answers the
next question, and a whole plan written as teachers write has every answer under its own
question in the uploaded .docx."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dialogs.types import UserRef
from tests.e2e.slack_fixtures import SlackEnv, heading_of, slack_app
from tests.helpers import Clock
from tests.test_answers_land import HP, PARAGRAPH_1, PARAGRAPH_2
from tests.test_console_e2e import ANSWERS, read_docx


async def start_plan(env: SlackEnv) -> None:
    assert (await env.teacher.slash()).status == 200
    await env.settle()


def last_heading(env: SlackEnv) -> str | None:
    return heading_of(env.teacher.bot_messages()[-1])


def seen(env: SlackEnv, since: int) -> str:
    return "\n".join(m.visible_text() for m in env.teacher.bot_messages()[since:])


async def test_two_paragraphs_a_second_apart_are_one_answer_a_later_message_is_not(
    tmp_path: Path,
) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        for key in ("titel", "enhet", "forfattare"):
            await env.say(ANSWERS[key])
        assert last_heading(env) == "Nulägesanalys"
        await env.say(PARAGRAPH_1)
        await asyncio.sleep(1)  # real time: the bot's own clock
        before = len(env.teacher.bot_messages())
        await env.say(PARAGRAPH_2)
        assert "lade till det i svaret på ”Nulägesanalys”" in seen(env, before)
        assert last_heading(env) == "Mål"

        await asyncio.sleep(3.5)  # longer than the burst window: the answer to Mål
        await env.say(ANSWERS["mal"])
        assert last_heading(env) == HP.question("aktivitet").label

        snapshot = await env.runtime.database.store.load(
            UserRef(channel="slack", external_id=env.teacher.user_id), ""
        )
        [plan] = snapshot.plans.values()
        assert plan.answers["nulagesanalys"].text == PARAGRAPH_1 + "\n\n" + PARAGRAPH_2
        assert plan.answers["mal"].text == ANSWERS["mal"]


async def test_a_whole_plan_written_as_teachers_write_lands_question_by_question(
    tmp_path: Path,
) -> None:
    """A burst, "Lägg till i förra svaret" as a bare command, a question to the bot, /andra
    with a label (Slack keeps "/" for itself: the bare word), typed button numbers and
    labels, the review; the bot's clock is the test's, so only the burst is one."""
    clock = Clock()
    async with slack_app(tmp_path) as env:
        env.runtime.conversation.clock = clock
        await start_plan(env)
        for key in ("titel", "enhet", "forfattare"):
            await env.say(ANSWERS[key])
        await env.say(PARAGRAPH_1)
        clock.advance(seconds=1)
        await env.say(PARAGRAPH_2)
        clock.advance(minutes=2)
        before = len(env.teacher.bot_messages())
        await env.say("Vad menas med mål här?")
        assert "Hjälp: Mål" in seen(env, before)
        assert "Spara frågan som svar" in env.teacher.last_with_buttons().button_labels()
        for key in ("mal", "aktivitet", "malgrupp", "genomforande"):
            await env.say(ANSWERS[key])
        clock.advance(hours=1)
        await env.say("lägg till")  # the bare command: the next text goes to Genomförande
        await env.say("Skolsköterskan är med när frånvaron kan ha med hälsan att göra.")
        assert last_heading(env) == "När och hur ofta?"
        for key in ("nar_hur_ofta", "resurser", "tidplan"):
            await env.say(ANSWERS[key])
        await env.say("andra")
        await env.say("Mål")
        assert last_heading(env) == "Mål"
        await env.say("Behåll svaret")
        assert (last_heading(env) or "").startswith("Planerad metod")
        for key in ("datainsamling", "nar_uppfoljning", "vem_uppfoljning"):
            await env.say(ANSWERS[key])
        assert last_heading(env) == "Stämmer planen?"
        await env.say("1")  # [1] Ja, det stämmer – planen är planerad
        [uploaded] = env.teacher.files()
        saved = tmp_path / "plan.docx"
        saved.write_bytes(uploaded.data)
        under = read_docx(saved).under

    assert under["Nulägesanalys"] == PARAGRAPH_1 + "\n" + PARAGRAPH_2
    assert under["Genomförande"] == (
        ANSWERS["genomforande"]
        + "\nSkolsköterskan är med när frånvaron kan ha med hälsan att göra."
    )
    for key in ("mal", "aktivitet", "malgrupp", "nar_hur_ofta", "resurser", "datainsamling"):
        assert under[HP.question(key).label] == ANSWERS[key], key
