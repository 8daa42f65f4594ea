"""PostgreSQL drops every connection (a restart, a failover) in the middle of a conversation:
`pg_terminate_backend` on all of the bot's connections, five times. The next message after
each drop must be stored and answered as if nothing happened."""

from __future__ import annotations

import time
from pathlib import Path

import asyncpg

from tests.e2e.telegram_emulator import TelegramEmulator
from tests.faults.answers import ANSWERS
from tests.faults.workers import Worker, base_env, terminate_backends

TEACHER = 5151


async def test_connections_terminated_mid_conversation_lose_no_answer(
    pg_url: str, tmp_path: Path
) -> None:
    async with TelegramEmulator() as tg:
        env = base_env(
            pg_url,
            PLANBOT_TELEGRAM_TOKEN=tg.token,
            PLANBOT_TELEGRAM_API_URL=tg.base_url,
            PLANBOT_TELEGRAM_FILE_URL=tg.base_file_url,
        )
        worker = Worker(["telegram"], env, tmp_path / "worker.log", 0)  # long polling
        await worker.start()
        try:
            tg.send_text(TEACHER, "/start")
            await tg.wait_until_quiet(TEACHER, 0, timeout=30)
            terminated = 0
            took: list[float] = []
            for answer in ANSWERS[:5]:
                terminated += await terminate_backends(pg_url)
                before = len(tg.bot_messages(TEACHER))
                began = time.monotonic()
                tg.send_text(TEACHER, answer)
                replies = await tg.wait_until_quiet(TEACHER, before, timeout=20)
                took.append(time.monotonic() - began)
                texts = "\n".join(m.get("text", "") for m in replies)
                assert "något gick fel" not in texts and "databasen" not in texts, texts
                assert "fråga" in replies[-1]["text"], texts  # the next question
            conn = await asyncpg.connect(pg_url)
            try:
                stored = [
                    r[0] for r in await conn.fetch("SELECT value->>'text' FROM answers ORDER BY id")
                ]
            finally:
                await conn.close()
        finally:
            await worker.stop()
    print(
        f"\npg_terminate_backend before each of 5 answers: {terminated} connections dropped, "
        f"{len(stored)} of 5 answers stored, slowest reply {max(took):.2f} s"
    )
    assert stored == list(ANSWERS[:5])
    assert terminated >= 5
    assert "Traceback" not in worker.output()
