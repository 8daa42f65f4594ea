"""The whole Slack app against the fake: a temporary SQLite file, the real runtime, the real
Bolt app served over HTTP on a free port, and one teacher who writes to it.

Used as `async with slack_app(tmp_path) as env:`; `env.restart()` closes everything but the
database file and the fake, and starts it all again (the teacher keeps their DM).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import Runtime, start_runtime
from bot.settings import Settings
from bot.slack import EVENTS_PATH, SlackAdapter
from dialogs.template import Template, load_templates
from tests.channel_prompts import handlingsplan_only
from tests.e2e.slack_fake import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    Delivery,
    Message,
    SlackFake,
    SlackUser,
    unescape_mrkdwn,
)


def slack_settings(database: Path, fake: SlackFake) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        slack_api_url=fake.api_url,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        prompts_dir=handlingsplan_only(),
    )


@dataclass
class SlackEnv:
    fake: SlackFake
    settings: Settings
    runtime: Runtime
    adapter: SlackAdapter
    runner: web.AppRunner
    teacher: SlackUser
    extra_users: list[SlackUser] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}{EVENTS_PATH}"

    def user(self, user_id: str) -> SlackUser:
        other = SlackUser(self.fake, self.endpoint, user_id=user_id)
        self.extra_users.append(other)
        return other

    async def settle(self) -> None:
        await self.adapter.drain()

    async def say(self, text: str, user: SlackUser | None = None) -> list[Message]:
        """Write in the DM, wait until the bot is done; what it posted in reply."""
        user = user or self.teacher
        before = len(user.bot_messages())
        delivery = await user.say(text)
        assert delivery.status == 200, delivery
        await self.settle()
        return user.bot_messages()[before:]

    async def press(self, label: str, message: Message | None = None) -> list[Message]:
        before = len(self.teacher.bot_messages())
        delivery = await self.teacher.press(label, message)
        assert delivery.status == 200, delivery
        await self.settle()
        return self.teacher.bot_messages()[before:]

    async def deliver(self, delivery: Delivery) -> Delivery:
        await self.settle()
        return delivery

    async def restart(self) -> None:
        await self._stop()
        self.runtime, self.adapter, self.runner = await _start(self.settings)
        for user in (self.teacher, *self.extra_users):
            user.endpoint = self.endpoint

    async def _stop(self) -> None:
        await self.adapter.drain()
        await self.runner.cleanup()
        await self.adapter.close()
        await self.runtime.close()


async def _start(settings: Settings) -> tuple[Runtime, SlackAdapter, web.AppRunner]:
    runtime = await start_runtime(settings)
    adapter = SlackAdapter(settings, runtime)
    adapter.start()
    runner = web.AppRunner(adapter.web_app(), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runtime, adapter, runner


@contextlib.asynccontextmanager
async def slack_app(tmp_path: Path, user_id: str = "U0LARARE1") -> AsyncIterator[SlackEnv]:
    async with SlackFake() as fake:
        settings = slack_settings(tmp_path / "planbot.db", fake)
        runtime, adapter, runner = await _start(settings)
        env = SlackEnv(fake, settings, runtime, adapter, runner, teacher=None)  # type: ignore[arg-type]
        env.teacher = SlackUser(fake, env.endpoint, user_id=user_id)
        try:
            yield env
        finally:
            await env._stop()
            for user in (env.teacher, *env.extra_users):
                await user.close()


# --------------------------------------------------------------------------- reading questions


def handlingsplan() -> Template:
    return load_templates()["handlingsplan"]


def heading_of(message: Message) -> str | None:
    """The bold first section of a bot message, as plain text."""
    for block in message.blocks:
        text = block.get("text")
        if block.get("type") == "section" and isinstance(text, dict):
            raw = str(text.get("text", ""))
            if raw.startswith("*") and raw.endswith("*") and "\n" not in raw:
                return unescape_mrkdwn(raw[1:-1])
            return None
    return None


def examples_by_label(template: Template) -> dict[str, str]:
    out: dict[str, str] = {}
    for _, item in template.walk():
        label: Any = getattr(item, "label", None)
        example: Any = getattr(item, "example", None)
        if isinstance(label, str) and isinstance(example, str):
            out[label] = example
    return out
