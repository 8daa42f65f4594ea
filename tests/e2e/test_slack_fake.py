"""The Slack fake answers the way Slack does, so the e2e tests that lean on it mean something.

Driven with slack_sdk's own AsyncWebClient and SignatureVerifier, not with hand-made requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.e2e.slack_fake import BOT_TOKEN, SIGNING_SECRET, SlackFake, slack_signature


@pytest.fixture
async def fake() -> AsyncIterator[SlackFake]:
    async with SlackFake() as running:
        yield running


def client(fake: SlackFake, token: str = BOT_TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url)


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str, action_id: str, value: str = "v") -> dict[str, object]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }


async def test_auth_test_names_the_bot_user(fake: SlackFake) -> None:
    answer = await client(fake).auth_test()
    assert answer["ok"] and answer["user_id"] == fake.bot_user_id
    assert fake.calls_to("auth.test")[0].token == BOT_TOKEN


async def test_wrong_token_is_invalid_auth(fake: SlackFake) -> None:
    with pytest.raises(SlackApiError) as err:
        await client(fake, "xoxb-wrong").auth_test()
    assert err.value.response["error"] == "invalid_auth"


async def test_post_message_to_an_opened_dm_is_recorded(fake: SlackFake) -> None:
    fake.add_user("U1")
    web = client(fake)
    opened = await web.conversations_open(users="U1")
    channel = opened["channel"]["id"]
    posted = await web.chat_postMessage(channel=channel, text="Hej", blocks=[section("*Hej*")])
    assert posted["ok"] and posted["ts"]
    [message] = fake.bot_messages(channel)
    assert message.visible_text() == "*Hej*" and message.text == "Hej"


async def test_unknown_channel_and_unknown_user_are_refused(fake: SlackFake) -> None:
    web = client(fake)
    with pytest.raises(SlackApiError) as err:
        await web.chat_postMessage(channel="DNOPE", text="x")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err:
        await web.conversations_open(users="UNOPE")
    assert err.value.response["error"] == "user_not_found"


@pytest.mark.parametrize(
    "blocks",
    [
        [section("x" * 3001)],
        [section("x")] * 51,
        [{"type": "actions", "elements": [button(str(i), f"a{i}") for i in range(26)]}],
        [{"type": "actions", "elements": [button("a" * 76, "a")]}],
        [{"type": "actions", "elements": [button("a", "a", "v" * 2001)]}],
        [{"type": "actions", "elements": [button("a", "same"), button("b", "same")]}],
        [section("")],
    ],
    ids=[
        "section>3000",
        "51 blocks",
        "26 buttons",
        "button text>75",
        "value>2000",
        "duplicate action_id",
        "empty text",
    ],
)
async def test_block_kit_limits_are_enforced(fake: SlackFake, blocks: list[object]) -> None:
    channel = fake.add_user("U1")
    with pytest.raises(SlackApiError) as err:
        await client(fake).chat_postMessage(channel=channel, text="x", blocks=blocks)
    assert err.value.response["error"] == "invalid_blocks"
    assert fake.bot_messages(channel) == []


async def test_blocks_at_the_limits_are_accepted(fake: SlackFake) -> None:
    channel = fake.add_user("U1")
    blocks = [section("x" * 3000)] * 49 + [
        {"type": "actions", "elements": [button("a" * 75, f"a{i}") for i in range(25)]}
    ]
    await client(fake).chat_postMessage(channel=channel, text="x", blocks=blocks)
    assert len(fake.bot_messages(channel)[0].buttons()) == 25


async def test_too_long_text_is_msg_too_long(fake: SlackFake) -> None:
    channel = fake.add_user("U1")
    with pytest.raises(SlackApiError) as err:
        await client(fake).chat_postMessage(channel=channel, text="x" * 40001)
    assert err.value.response["error"] == "msg_too_long"


async def test_chat_update_replaces_the_message(fake: SlackFake) -> None:
    channel = fake.add_user("U1")
    web = client(fake)
    posted = await web.chat_postMessage(
        channel=channel,
        text="Fråga",
        blocks=[section("Fråga"), {"type": "actions", "elements": [button("Ja", "a")]}],
    )
    await web.chat_update(channel=channel, ts=posted["ts"], text="Fråga", blocks=[section("Fråga")])
    [message] = fake.bot_messages(channel)
    assert message.edited and message.buttons() == []
    with pytest.raises(SlackApiError) as err:
        await web.chat_update(channel=channel, ts="1.2", text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_ephemeral_message_is_kept_apart(fake: SlackFake) -> None:
    channel = fake.add_user("U1")
    await client(fake).chat_postEphemeral(channel=channel, user="U1", text="Bara för dig")
    assert fake.bot_messages(channel) == []
    assert fake.ephemeral_messages(channel)[0].text == "Bara för dig"


async def test_views_publish_stores_the_home_view(fake: SlackFake) -> None:
    fake.add_user("U1")
    view = {"type": "home", "blocks": [section("Dina planer")]}
    answer = await client(fake).views_publish(user_id="U1", view=view)
    assert answer["view"]["id"] == fake.views["U1"]["id"]
    with pytest.raises(SlackApiError):
        await client(fake).views_publish(
            user_id="U1", view={"type": "home", "blocks": [section("x")] * 101}
        )


async def test_files_upload_v2_goes_through_the_three_steps(fake: SlackFake) -> None:
    channel = fake.add_user("U1")
    data = b"PK\x03\x04" + bytes(range(256)) * 40
    answer = await client(fake).files_upload_v2(
        channel=channel, file=data, filename="plan.docx", title="Handlingsplan"
    )
    assert answer["file"]["name"] == "plan.docx"
    assert [c.method for c in fake.calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    [uploaded] = fake.files_in(channel)
    assert uploaded.data == data and uploaded.title == "Handlingsplan"
    assert uploaded.length == len(data)


async def test_complete_upload_without_the_bytes_is_refused(fake: SlackFake) -> None:
    channel = fake.add_user("U1")
    web = client(fake)
    url = await web.files_getUploadURLExternal(filename="a.docx", length=3)
    with pytest.raises(SlackApiError) as err:
        await web.files_completeUploadExternal(
            files=[{"id": url["file_id"], "title": "a"}], channel_id=channel
        )
    assert err.value.response["error"] == "file_not_found"


async def test_fail_next_makes_one_call_fail(fake: SlackFake) -> None:
    channel = fake.add_user("U1")
    fake.fail_next["chat.postMessage"] = "ratelimited"
    with pytest.raises(SlackApiError):
        await client(fake).chat_postMessage(channel=channel, text="x")
    await client(fake).chat_postMessage(channel=channel, text="x")


def test_signature_matches_what_slack_sdk_verifies() -> None:
    body = json.dumps({"type": "event_callback"})
    ts = str(int(time.time()))
    verifier = SignatureVerifier(SIGNING_SECRET)
    signature = slack_signature(SIGNING_SECRET, ts, body)
    assert verifier.is_valid(body, ts, signature)
    assert not verifier.is_valid(body, ts, slack_signature("other", ts, body))
    old = str(int(time.time()) - 301)
    assert not verifier.is_valid(body, old, slack_signature(SIGNING_SECRET, old, body))


async def test_socket_mode_url_and_hello(fake: SlackFake) -> None:
    with pytest.raises(SlackApiError):
        await client(fake).apps_connections_open(app_token="xapp-wrong")
    answer = await client(fake).apps_connections_open(app_token=fake.app_token)
    assert answer["url"].startswith("ws://127.0.0.1:")
    async with aiohttp.ClientSession() as session, session.ws_connect(answer["url"]) as ws:
        hello = await ws.receive_json()
        assert hello["type"] == "hello"
        envelope_id = await fake.socket_send("events_api", {"type": "event_callback"})
        envelope = await ws.receive_json()
        assert envelope["envelope_id"] == envelope_id
        await ws.send_json({"envelope_id": envelope_id})
        await fake.wait_for(lambda: envelope_id in fake.socket_acks)
