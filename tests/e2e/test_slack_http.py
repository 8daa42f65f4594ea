"""Slack over HTTP, end to end: the real Bolt app served on 127.0.0.1, signed requests as
Slack sends them, and the fake Web API recording what the bot does in the teacher's DM."""

from __future__ import annotations

import copy
import io
import time
from pathlib import Path

import docx

from dialogs.types import UserRef
from tests.e2e.slack_fake import BOT_ID, BOT_USER_ID, Message, unescape_mrkdwn
from tests.e2e.slack_fixtures import (
    SlackEnv,
    examples_by_label,
    handlingsplan,
    heading_of,
    slack_app,
)

TITLE = "Tidig uppföljning av frånvaro i åk 7"


def teacher_ref(env: SlackEnv) -> UserRef:
    return UserRef(channel="slack", external_id=env.teacher.user_id)


async def start_plan(env: SlackEnv) -> list[Message]:
    """The teacher's first message in the DM: a new plan and its first question."""
    before = len(env.teacher.bot_messages())
    assert (await env.teacher.slash()).status == 200
    await env.settle()
    return env.teacher.bot_messages()[before:]


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


async def answer_until_done(env: SlackEnv) -> int:
    """Answer each question the bot asks with the template's example; press Nej where the
    bot asks whether to add another. Returns the number of answers given."""
    examples = examples_by_label(handlingsplan())
    given = 0
    for _ in range(60):
        if env.teacher.files():
            return given
        last = env.teacher.bot_messages()[-1]
        heading = heading_of(last)
        label = heading.split(" › ")[-1] if heading else None
        if label in examples:
            replies = await env.say(examples[label])
            given += 1
            assert replies, f"no reply to the answer for {label!r}"
        elif "Nej" in last.button_labels():
            await env.press("Nej", last)
        elif heading == "Stämmer planen?":  # the review before the plan is planerad
            await env.press("Ja, det stämmer – planen är planerad", last)
        else:
            raise AssertionError(f"unexpected message: {last.visible_text()!r}")
    raise AssertionError("the plan never finished")


async def test_full_plan_in_a_dm_ends_with_the_docx_uploaded(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        first = await start_plan(env)
        assert heading_of(first[-1]) == "Insatsens namn"
        assert env.fake.calls_to("conversations.open")

        given = await answer_until_done(env)
        assert given >= 10

        [uploaded] = env.teacher.files()
        assert uploaded.filename.endswith(".docx") and uploaded.data
        text = docx_text(uploaded.data)
        assert TITLE in text
        assert "Ringsjöskolan, Höörs kommun" in text

        # Asking again in the DM gives the document again.
        await env.say("exportera")
        assert len(env.teacher.files()) == 2
        calls = [c.method for c in env.fake.calls]
        assert calls.count("files.getUploadURLExternal") == 2
        assert calls.count("files.completeUploadExternal") == 2

        # Every message had a text fallback and stayed within Block Kit's limits (the fake
        # refuses anything else, so no failed call may appear).
        assert all(c.ok for c in env.fake.calls), [c for c in env.fake.calls if not c.ok]
        assert all(c.args.get("text") for c in env.fake.calls_to("chat.postMessage"))


async def test_teacher_text_is_escaped_for_mrkdwn(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        await env.say("Närvaro & trivsel <åk 7>")
        replies = await env.say("/start")  # "welcome back" quotes the plan's title
        shown = "\n".join(m.visible_text() for m in replies)
        assert "Närvaro &amp; trivsel &lt;åk 7&gt;" in shown
        assert "<åk 7>" not in shown
        summaries = await env.runtime.conversation.summaries(teacher_ref(env))
        assert summaries[0].title == "Närvaro & trivsel <åk 7>"


async def test_pressed_buttons_disappear_and_a_second_press_changes_nothing(
    tmp_path: Path,
) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        await env.say(TITLE)
        await env.teacher.slash()
        await env.settle()
        welcome = copy.deepcopy(env.teacher.last_with_buttons())  # as the client still shows it
        assert welcome.button_labels() == ["Fortsätt", "Ny plan", "Mina planer"]

        replies = await env.press("Fortsätt", welcome)
        updated = env.fake.find_message(welcome.channel, welcome.ts)
        assert updated.edited and updated.buttons() == []
        assert "Du valde: Fortsätt" in updated.visible_text()
        assert heading_of(replies[-1]) == "Skola/enhet"

        # The old payload pressed again (Slack had not redrawn it yet): nothing happens.
        assert await env.press("Fortsätt", welcome) == []
        assert len(env.fake.calls_to("chat.update")) == 1

        # After a restart the adapter has forgotten the press; the engine still knows the
        # button is stale and says so quietly, to this teacher only.
        await env.restart()
        assert await env.press("Fortsätt", welcome) == []
        [notice] = env.fake.ephemeral_messages(env.teacher.channel)
        assert "gäller inte längre" in notice.visible_text()
        plans = await env.runtime.conversation.summaries(teacher_ref(env))
        assert [(p.answered, p.total) for p in plans] == [(1, 14)]


async def test_app_home_lists_plans_with_buttons_that_work(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        teacher = env.teacher
        await teacher.open_home()
        await env.settle()
        home = env.fake.views[teacher.user_id]
        texts = "\n".join(unescape_mrkdwn(t) for t in _view_texts(home))
        assert "Dina planer" in texts and "inga planer" in texts

        await start_plan(env)
        await env.say(TITLE)
        publishes = len(env.fake.calls_to("views.publish"))
        await teacher.open_home()
        await env.settle()
        assert len(env.fake.calls_to("views.publish")) == publishes + 1
        home = env.fake.views[teacher.user_id]
        texts = "\n".join(unescape_mrkdwn(t) for t in _view_texts(home))
        assert TITLE in texts and "pågår" in texts and "1 av 14" in texts

        # Exportera: a draft .docx in the DM.
        assert (await teacher.press_home("Exportera", plan_title=TITLE)).status == 200
        await env.settle()
        [draft] = teacher.files()
        assert TITLE in docx_text(draft.data or b"")

        # Ny plan: a second plan starts in the DM; the Home tab is republished with both.
        before = len(teacher.bot_messages())
        await teacher.press_home("Ny plan")
        await env.settle()
        assert heading_of(teacher.bot_messages()[-1]) == "Insatsens namn"
        assert len(teacher.bot_messages()) > before
        home = env.fake.views[teacher.user_id]
        assert sum(1 for b in home["blocks"] if b["type"] == "divider") == 2

        # Fortsätt on the first plan: the DM continues it where it was.
        await teacher.press_home("Fortsätt", plan_title=TITLE)
        await env.settle()
        last = teacher.bot_messages()
        assert any(TITLE in m.visible_text() for m in last[-3:])
        assert heading_of(last[-1]) == "Skola/enhet"
        assert all(c.ok for c in env.fake.calls)


def _view_texts(view: dict[str, object]) -> list[str]:
    return Message(channel="", ts="", text="", blocks=view["blocks"]).visible_text().split("\n")  # type: ignore[arg-type]


async def test_forged_or_stale_requests_get_401_and_change_nothing(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        teacher = env.teacher
        event = teacher.message_event("hej", "1700000000.000100")
        forged = await teacher.post_event(event, secret="not-the-signing-secret")
        stale = await teacher.post_event(event, timestamp=int(time.time()) - 5 * 60 - 10)
        command = await teacher.post_signed(
            "command=%2Fhandlingsplan&user_id=U0LARARE1",
            "application/x-www-form-urlencoded",
            secret="not-the-signing-secret",
        )
        assert [forged.status, stale.status, command.status] == [401, 401, 401]
        await env.settle()
        assert env.fake.calls_to("chat.postMessage") == []
        assert await env.runtime.conversation.summaries(teacher_ref(env)) == []

        # The same event, properly signed, is accepted.
        assert (await teacher.post_event(event)).status == 200
        await env.settle()
        assert teacher.bot_messages()


async def test_a_retried_event_stores_one_answer(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        teacher = env.teacher
        await start_plan(env)
        event = teacher.message_event(TITLE, "1700000001.000100")
        first = await teacher.post_event(event, event_id="EvRETRY1")
        # Slack retries when the ack was slow: same event_id, X-Slack-Retry-Num set.
        again = await teacher.post_event(event, event_id="EvRETRY1", retry_num=1)
        assert first.status == again.status == 200
        await env.settle()
        posted = len(teacher.bot_messages())
        await teacher.post_event(event, event_id="EvRETRY1", retry_num=2)
        await env.settle()
        assert len(teacher.bot_messages()) == posted

        [plan] = await env.runtime.conversation.summaries(teacher_ref(env))
        history = await env.runtime.database.store.history(plan.id)
        assert [a.value.text for a in history] == [TITLE]

        # After a restart the retry is new to the adapter; the engine knows the key.
        await env.restart()
        await teacher.post_event(event, event_id="EvRETRY1", retry_num=3)
        await env.settle()
        history = await env.runtime.database.store.history(plan.id)
        assert [a.value.text for a in history] == [TITLE]
        assert heading_of(teacher.bot_messages()[-1]) == "Skola/enhet"


async def test_restarted_mid_plan_the_teacher_continues(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        await env.say(TITLE)
        await env.say("Ringsjöskolan, Höörs kommun")
        await env.restart()
        replies = await env.say("Arbetslag 7–9 och elevhälsoteamet")
        assert heading_of(replies[-1]) == "Nulägesanalys"
        plans = await env.runtime.conversation.summaries(teacher_ref(env))
        assert [(p.title, p.answered) for p in plans] == [(TITLE, 3)]


async def test_a_file_instead_of_an_answer_is_explained_and_not_stored(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        before = len(env.teacher.bot_messages())
        await env.teacher.send_file("bild.png", "image/png")
        await env.settle()
        replies = env.teacher.bot_messages()[before:]
        assert "en bild" in replies[0].visible_text()
        assert heading_of(replies[-1]) == "Insatsens namn"
        await env.teacher.send_file("plan.pdf", "application/pdf")
        await env.settle()
        assert "en fil" in env.teacher.bot_messages()[-2].visible_text()
        [plan] = await env.runtime.conversation.summaries(teacher_ref(env))
        assert plan.answered == 0
        assert await env.runtime.database.store.history(plan.id) == []


async def test_messages_from_bots_and_from_itself_are_ignored(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        teacher = env.teacher
        own = teacher.message_event("Vad heter insatsen?", "1700000002.000100")
        own["user"] = BOT_USER_ID
        own["bot_id"] = BOT_ID
        other = teacher.message_event("Påminnelse från en annan bot", "1700000003.000100")
        other.update(subtype="bot_message", bot_id="B0ANNAN")
        del other["user"]
        for event in (own, other):
            assert (await teacher.post_event(event)).status == 200
        await env.settle()
        assert env.fake.calls_to("chat.postMessage") == []
        assert await env.runtime.conversation.summaries(teacher_ref(env)) == []


async def test_slash_command_with_text_runs_that_command_in_the_dm(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        before = len(env.teacher.bot_messages())
        assert (await env.teacher.slash("hjalp")).status == 200
        await env.settle()
        replies = env.teacher.bot_messages()[before:]
        assert heading_of(replies[0]) == "Hjälp: Insatsens namn"
        assert heading_of(replies[-1]) == "Insatsens namn"


async def test_quick_messages_are_handled_in_the_order_they_were_sent(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        answers = [TITLE, "Ringsjöskolan, Höörs kommun", "Arbetslag 7–9 och elevhälsoteamet"]
        for answer in answers:  # no waiting for the bot in between
            assert (await env.teacher.say(answer)).status == 200
        await env.settle()
        [plan] = await env.runtime.conversation.summaries(teacher_ref(env))
        history = await env.runtime.database.store.history(plan.id)
        assert [a.value.text for a in history] == answers
        assert heading_of(env.teacher.bot_messages()[-1]) == "Nulägesanalys"


async def test_an_edited_message_is_explained_and_the_bots_own_edits_ignored(
    tmp_path: Path,
) -> None:
    async with slack_app(tmp_path) as env:
        teacher = env.teacher
        await start_plan(env)
        await env.say(TITLE)
        edit = {
            "type": "message",
            "subtype": "message_changed",
            "channel": teacher.channel,
            "channel_type": "im",
            "hidden": True,
            "ts": "1700000009.000200",
            "message": {"type": "message", "user": teacher.user_id, "text": "Ny titel"},
            "previous_message": {"type": "message", "user": teacher.user_id, "text": TITLE},
        }
        own = {
            **edit,
            "message": {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": "x"},
            "previous_message": {"type": "message", "user": BOT_USER_ID, "text": "y"},
        }
        before = len(teacher.bot_messages())
        await teacher.post_event(own)
        await env.settle()
        assert len(teacher.bot_messages()) == before
        await teacher.post_event(edit)
        await env.settle()
        replies = teacher.bot_messages()[before:]
        assert "ändrade ett tidigare meddelande" in replies[0].visible_text()
        [plan] = await env.runtime.conversation.summaries(teacher_ref(env))
        assert plan.title == TITLE and plan.answered == 1


async def test_rate_limited_posts_are_sent_again(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        env.fake.fail_next["chat.postMessage"] = "ratelimited"
        await start_plan(env)
        errors = [c.error for c in env.fake.calls_to("chat.postMessage")]
        assert errors[0] == "ratelimited" and errors.count("ratelimited") == 1
        texts = [m.visible_text() for m in env.teacher.bot_messages()]
        assert len(texts) == len(set(texts)) == len(errors) - 1  # each message once
        assert heading_of(env.teacher.bot_messages()[-1]) == "Insatsens namn"


async def test_a_failed_upload_is_explained_in_the_dm(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        await env.say(TITLE)
        env.fake.fail_next["files.completeUploadExternal"] = "file_uploads_disabled"
        replies = await env.say("exportera")
        assert env.teacher.files() == []
        assert any("files:write" in m.visible_text() for m in replies)
        assert heading_of(replies[-1]) == "Skola/enhet"
