"""Running it as a service: `/healthz` next to the bot in webhook and HTTP modes, and SIGTERM
stopping every mode within seconds — Slack's Socket Mode too, while it keeps failing to
connect (it used to wait out its retries for minutes)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.e2e.slack_fake import APP_TOKEN, BOT_TOKEN
from tests.e2e.slack_fixtures import slack_app
from tests.e2e.telegram_emulator import TelegramEmulator
from tests.e2e.telegram_fixtures import BotProcess

pytest_plugins = ["tests.e2e.telegram_fixtures"]

PLANBOT = Path(sys.executable).with_name("planbot")
STOP_WITHIN = 5.0  # seconds from SIGTERM to exit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def wait_healthy(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await get(url))[0] == 200:
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never answered 200")


async def test_telegram_webhook_serves_healthz_and_stops_on_sigterm(
    telegram_api: TelegramEmulator, bot_process: BotProcess
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    await bot_process.start("--webhook-url", url, "--port", str(port), "--listen", "127.0.0.1")
    await wait_healthy(f"http://127.0.0.1:{port}/healthz")
    assert await get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
    started = time.monotonic()
    code = await bot_process.stop()
    assert time.monotonic() - started < STOP_WITHIN, bot_process.output()
    assert code == 0, bot_process.output()
    assert "Traceback" not in bot_process.output()


async def test_telegram_polling_stops_on_sigterm(
    telegram_api: TelegramEmulator, bot_process: BotProcess
) -> None:
    await bot_process.start()
    before = len(telegram_api.bot_messages(4711))
    telegram_api.send_text(4711, "/start")
    await telegram_api.wait_until_quiet(4711, before, timeout=30)
    started = time.monotonic()
    assert await bot_process.stop() == 0
    assert time.monotonic() - started < STOP_WITHIN


async def test_slack_http_serves_healthz(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        status, body = await get(env.endpoint.replace("/slack/events", "/healthz"))
        assert (status, body) == (200, "ok\n")


async def test_slack_socket_mode_stops_on_sigterm_while_it_cannot_connect(
    tmp_path: Path,
) -> None:
    """The Web API answers (so the start-up checks pass), but the WebSocket URL it hands out
    leads nowhere: Socket Mode retries, and SIGTERM must still end the process at once."""
    dead = free_port()  # nothing listens here
    opened = 0

    async def api(request: web.Request) -> web.Response:
        nonlocal opened
        method = request.match_info["method"]
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "team_id": "T0SKOLAN",
                    "team": "Skolan",
                    "user_id": "U0BOT",
                    "bot_id": "B0BOT",
                }
            )
        if method == "apps.connections.open":
            opened += 1
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{dead}/socket"})
        return web.json_response({"ok": True})

    server = web.Application()
    server.router.add_post("/api/{method}", api)
    runner = web.AppRunner(server)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "SLACK_"))}
    env.update(
        HOME=str(tmp_path),
        PLANBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'planbot.db'}",
        PLANBOT_SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
    )
    log = tmp_path / "slack.log"
    try:
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                str(PLANBOT), "slack", env=env, cwd=tmp_path, stdout=out, stderr=out
            )
            deadline = time.monotonic() + 30
            while opened < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert opened >= 1, log.read_text()
            await asyncio.sleep(1.0)  # well into its retries
            assert process.returncode is None, log.read_text()
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                code = await asyncio.wait_for(process.wait(), STOP_WITHIN)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise AssertionError("planbot slack ignored SIGTERM while reconnecting") from None
        assert time.monotonic() - started < STOP_WITHIN
        assert code == 0, log.read_text()
    finally:
        await runner.cleanup()
