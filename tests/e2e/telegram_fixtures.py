"""Fixtures for the Telegram end-to-end tests: the emulator, settings that point the real bot
at it, the real `Application` running in-process or `planbot telegram` as a subprocess, and a
`Teacher` who writes and presses buttons like a person in a Telegram chat.

(tests/e2e/conftest.py is shared with the Slack tests; these are imported by the Telegram test
modules themselves.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import Runtime
from bot.settings import Settings
from bot.telegram import ALLOWED_UPDATES, TelegramApp, build_application
from tests.channel_prompts import handlingsplan_only
from tests.e2e.telegram_emulator import Json, TelegramEmulator

PLANBOT = Path(sys.executable).with_name("planbot")


@pytest_asyncio.fixture
async def telegram_api() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}"


def bot_settings(emulator: TelegramEmulator, database_url: str, **extra: Any) -> Settings:
    return Settings(
        telegram_token=emulator.token,
        telegram_api_url=emulator.base_url,
        telegram_file_url=emulator.base_file_url,
        database_url=database_url,
        **{"prompts_dir": handlingsplan_only(), **extra},
    )


@contextlib.asynccontextmanager
async def polling_bot(
    settings: Settings, runtime: Runtime | None = None
) -> AsyncIterator[TelegramApp]:
    """The real Application, started as `run_polling` starts it (initialize, post_init, the
    updater, start) but on the test's event loop, with a short long-poll timeout. With
    `runtime`, on that runtime (a test may set its conversation's clock)."""
    app = build_application(settings, runtime)
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


@pytest_asyncio.fixture
async def running_bot(
    telegram_api: TelegramEmulator, database_url: str
) -> AsyncIterator[TelegramApp]:
    async with polling_bot(bot_settings(telegram_api, database_url)) as app:
        yield app


class BotProcess:
    """`planbot telegram` in a subprocess, pointed at the emulator by environment variables.
    Waiting is asynchronous: the emulator in this event loop must keep answering the bot."""

    def __init__(self, emulator: TelegramEmulator, database_url: str, log: Path) -> None:
        self.emulator = emulator
        self.database_url = database_url
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLANBOT_")}
        env.update(
            PLANBOT_TELEGRAM_TOKEN=self.emulator.token,
            PLANBOT_TELEGRAM_API_URL=self.emulator.base_url,
            PLANBOT_TELEGRAM_FILE_URL=self.emulator.base_file_url,
            PLANBOT_DATABASE_URL=self.database_url,
            PLANBOT_PROMPTS_DIR=str(handlingsplan_only()),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    async def start(self, *args: str, **env: str) -> None:
        assert self.process is None or self.process.returncode is not None
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(PLANBOT),
                "telegram",
                *args,
                env=self.env(**env),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.log.parent,  # no stray .env from the repository
            )

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed — a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int | None:
        """SIGTERM, as a service manager stops it; the exit code."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode

    async def run_to_end(self, *args: str, timeout: float = 20, **env: str) -> tuple[int, str]:
        """Run `planbot telegram` until it exits by itself: (exit code, stderr)."""
        process = await asyncio.create_subprocess_exec(
            str(PLANBOT),
            "telegram",
            *args,
            env=self.env(**env),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.log.parent,
        )
        _, err = await asyncio.wait_for(process.communicate(), timeout)
        assert process.returncode is not None
        return process.returncode, err.decode()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


@pytest_asyncio.fixture
async def bot_process(
    telegram_api: TelegramEmulator, database_url: str, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    process = BotProcess(telegram_api, database_url, tmp_path / "bot.log")
    yield process
    await process.stop()


@pytest_asyncio.fixture
async def teacher(
    telegram_api: TelegramEmulator, running_bot: TelegramApp
) -> AsyncIterator[Teacher]:
    """A teacher chatting with the in-process bot. Afterwards: Telegram refused nothing."""
    yield Teacher(telegram_api)
    refused = [
        (c.method, c.error)
        for c in telegram_api.errors()
        if not (c.error or "").startswith("Too Many Requests")  # flood control a test asked for
    ]
    assert refused == [], f"Telegram refused calls of the bot: {refused}"


class Teacher:
    """One teacher in a private chat with the bot."""

    def __init__(self, emulator: TelegramEmulator, user_id: int = 4711) -> None:
        self.tg = emulator
        self.id = user_id
        self.chat_id = user_id

    @property
    def seen(self) -> list[Json]:
        return self.tg.bot_messages(self.chat_id)

    @property
    def last(self) -> Json:
        return self.seen[-1]

    async def replies(self, before: int, timeout: float = 10.0) -> list[Json]:
        return await self.tg.wait_until_quiet(self.chat_id, before, timeout=timeout)

    async def says(self, text: str) -> list[Json]:
        """Write `text`; the messages the bot answered with."""
        before = len(self.seen)
        self.tg.send_text(self.id, text)
        return await self.replies(before)

    async def presses(self, label: str, message: Json | None = None) -> tuple[Json, list[Json]]:
        """Press the button labelled `label` (on the newest message that has one)."""
        target = message or self.message_with_button(label)
        before = len(self.seen)
        update = self.tg.press_label(target, label)
        return update, await self.replies(before)

    def message_with_button(self, label: str) -> Json:
        for message in reversed(self.seen):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                if any(button["text"] == label for button in row):
                    return message
        raise LookupError(f"no message offers a {label!r} button: {self.texts()[-3:]}")

    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.seen]

    def last_question(self) -> Json:
        """The newest message that asks something (it carries a progress line)."""
        for message in reversed(self.seen):
            if "fråga " in message.get("text", "").split("\n", 1)[0]:
                return message
        raise LookupError(f"no question asked yet: {self.texts()[-3:]}")
