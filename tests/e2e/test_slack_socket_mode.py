"""`planbot slack` as a school's IT runs it: Socket Mode (no public URL), against the fake's
WebSocket endpoint that `apps.connections.open` points to; plus the HTTP server and the exit
code when a token is missing."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.slack import EVENTS_PATH, run, serve
from tests.e2e.slack_fake import SlackFake, SlackUser
from tests.e2e.slack_fixtures import heading_of, slack_settings


@contextlib.asynccontextmanager
async def serving(settings: Settings, **kw: object) -> AsyncIterator[None]:
    stop, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop=stop, started=started, **kw))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):
            await started.wait()
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_socket_mode_starts_and_routes_a_dm_the_same_way(tmp_path: Path) -> None:
    async with SlackFake() as fake:
        # Socket Mode needs no signing secret and no public URL.
        settings = slack_settings(tmp_path / "planbot.db", fake).model_copy(
            update={"slack_signing_secret": ""}
        )
        teacher = SlackUser(fake, "http://unused.invalid", user_id="U0SOCKET1")
        async with serving(settings):
            await fake.wait_socket_connected()
            assert fake.calls_to("apps.connections.open")[0].token == fake.app_token

            event = teacher.event_envelope(teacher.message_event("hej", "1700000000.000100"))
            envelope_id = await fake.socket_send("events_api", event)
            await fake.wait_for(lambda: envelope_id in fake.socket_acks)
            await fake.wait_for(
                lambda: any(heading_of(m) == "Insatsens namn" for m in teacher.bot_messages())
            )

            # A slash command and a button press arrive over the socket too.
            command = {
                "command": "/handlingsplan",
                "text": "",
                "user_id": teacher.user_id,
                "channel_id": teacher.channel,
                "trigger_id": "1.socket",
                "team_id": "T0SKOLAN",
                "api_app_id": "A0PLANBOT",
            }
            await fake.socket_send("slash_commands", command)
            await fake.wait_for(lambda: bool(_buttons(teacher)))
            welcome = teacher.last_with_buttons()
            button = next(b for b in welcome.buttons() if b["text"]["text"] == "Fortsätt")
            press = teacher.block_actions_payload(
                button,
                {"type": "message", "message_ts": welcome.ts, "channel_id": welcome.channel},
                channel={"id": welcome.channel},
                message=welcome.as_payload(),
            )
            count = len(teacher.bot_messages())
            await fake.socket_send("interactive", press)
            await fake.wait_for(lambda: len(teacher.bot_messages()) > count)
            await fake.wait_for(lambda: fake.find_message(welcome.channel, welcome.ts).edited)
            assert all(c.ok for c in fake.calls)
        await teacher.close()


def _buttons(teacher: SlackUser) -> list[str]:
    return [label for m in teacher.bot_messages() for label in m.button_labels()]


async def test_http_mode_serves_events_on_the_given_port(tmp_path: Path) -> None:
    async with SlackFake() as fake:
        settings = slack_settings(tmp_path / "planbot.db", fake)
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}{EVENTS_PATH}"
        teacher = SlackUser(fake, endpoint, user_id="U0HTTP1")
        async with serving(settings, http=True, port=port, listen="127.0.0.1"):
            assert (await teacher.say("hej")).status == 200
            assert (await teacher.say("hej", secret="forged")).status == 401
            await fake.wait_for(
                lambda: any(heading_of(m) == "Insatsens namn" for m in teacher.bot_messages())
            )
        await teacher.close()


@pytest.mark.parametrize(
    ("http", "unset", "named"),
    [
        (False, "slack_bot_token", "SLACK_BOT_TOKEN"),
        (False, "slack_app_token", "SLACK_APP_TOKEN"),
        (True, "slack_signing_secret", "SLACK_SIGNING_SECRET"),
    ],
)
def test_a_missing_token_says_what_to_set_and_exits_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    http: bool,
    unset: str,
    named: str,
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("PLANBOT_" + name, raising=False)
    values = {
        "slack_bot_token": "xoxb-1",
        "slack_app_token": "xapp-1",
        "slack_signing_secret": "secret",
    }
    values[unset] = ""
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert run(settings, http=http) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err
