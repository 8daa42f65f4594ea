"""Workers as an operator runs them: `planbot telegram --webhook-url …` or `planbot slack
--http` processes, several on one PostgreSQL database, started, SIGKILLed and restarted."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from pathlib import Path

import asyncpg

from tests.channel_prompts import handlingsplan_only

PLANBOT = Path(sys.executable).with_name("planbot")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, args: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.port = port
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(PLANBOT),
                *self.args,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.log.parent,
            )

    async def kill(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            self.kills += 1

    async def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


async def wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"nothing listens on {port}") from None
            await asyncio.sleep(0.05)


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "SLACK_"))}
    env.update(
        PLANBOT_DATABASE_URL=database_url,
        PLANBOT_PROMPTS_DIR=str(handlingsplan_only()),
        # Who may use the bot is tested in tests/e2e/test_access.py; here every sender is a
        # teacher of the municipality.
        PLANBOT_ACCESS="open",
        # The workers are fed as fast as they answer, by a program: no paragraph bursts here
        # (those are tested in tests/test_answers_land.py and the channels' e2e tests).
        PLANBOT_BURST_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def chaos(workers: list[Worker], stop: asyncio.Event, seed: int) -> int:
    """SIGKILL a random serving worker at random moments (0.2–1.0 s apart) and start it again
    at once, leaving at least one other worker serving; the number of kills."""
    rng = random.Random(seed)
    kills = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(0.2, 1.0))
            break
        except TimeoutError:
            pass
        serving = [w for w in workers if w.alive and await listening(w.port)]
        if len(serving) < 2:
            continue
        victim = rng.choice(serving)
        await victim.kill()
        kills += 1
        await victim.start()
    return kills


async def terminate_backends(url: str) -> int:
    """pg_terminate_backend on every other connection to the database: a failover."""
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()
