"""Three `planbot telegram` webhook workers behind one address, on one PostgreSQL database,
with the Bot API emulator as Telegram (it re-delivers an update until it gets a 200).

Workers are SIGKILLed at random moments while 320 updates arrive; afterwards every update
Telegram saw acknowledged must have been processed exactly once, in each teacher's order. The
same update posted to two workers at once is processed once. The figures are printed."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from pathlib import Path

import asyncpg

from tests.e2e.telegram_emulator import TelegramEmulator
from tests.faults.answers import MESSAGES, check_teachers, wait_processed
from tests.faults.proxy import RoundRobinProxy
from tests.faults.workers import Worker, base_env, chaos, free_port, wait_listening

SECRET = "faults-webhook-secret-0123456789"
TEACHERS = 20


async def start_workers(
    tg: TelegramEmulator, pg_url: str, tmp_path: Path, proxy: RoundRobinProxy, n: int = 3
) -> list[Worker]:
    env = base_env(
        pg_url,
        PLANBOT_TELEGRAM_TOKEN=tg.token,
        PLANBOT_TELEGRAM_API_URL=tg.base_url,
        PLANBOT_TELEGRAM_FILE_URL=tg.base_file_url,
        PLANBOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    ports = [free_port() for _ in range(n)]
    proxy.backends[:] = [f"http://127.0.0.1:{port}" for port in ports]
    hook = f"{proxy.url}/telegram"
    workers = [
        Worker(
            ["telegram", "--webhook-url", hook, "--port", str(port), "--listen", "127.0.0.1"],
            env,
            tmp_path / f"worker{i}.log",
            port,
        )
        for i, port in enumerate(ports)
    ]
    for worker in workers:
        await worker.start()
    for worker in workers:
        await wait_listening(worker.port)
    return workers


async def test_webhook_workers_killed_at_random_lose_and_repeat_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    async with TelegramEmulator(webhook_retry_delay=0.1) as tg:
        proxy = RoundRobinProxy([])
        await proxy.start()
        workers = await start_workers(tg, pg_url, tmp_path, proxy)
        try:
            stop = asyncio.Event()
            killer = asyncio.create_task(chaos(workers, stop, seed=random.randrange(1 << 30)))
            # 20 teachers × (/start, 14 answers and the review's "ja") = 320 updates, interleaved.
            sent: list[int] = []
            for step in range(len(MESSAGES) + 1):
                for t in range(TEACHERS):
                    text = "/start" if step == 0 else MESSAGES[step - 1]
                    sent.append(tg.send_text(1000 + t, text)["update_id"])
                    await asyncio.sleep(0.02)
            deadline = time.monotonic() + 40
            while tg.pending_updates and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            stop.set()
            kills = await killer
            for worker in workers:
                if not worker.alive:
                    await worker.start()
            hook = tg.webhook
            assert hook is not None
            acked = {u for u, _, status in hook.deliveries if status == 200}
            failed_posts = sum(1 for _, _, status in hook.deliveries if status != 200)
            await wait_processed(pg_url, timeout=40)
            report = await check_teachers(
                pg_url,
                channel="telegram",
                teachers=[str(1000 + t) for t in range(TEACHERS)],
                keys=[f"telegram:{u}" for u in acked],
            )
        finally:
            for worker in workers:
                await worker.stop()
            await proxy.close()
    print(
        f"\ntelegram webhook, 3 workers: {len(sent)} updates, {len(acked)} acknowledged, "
        f"{kills} SIGKILLs, {failed_posts} deliveries refused and retried; lost "
        f"{report.lost}, processed twice {report.twice}, out of order {report.out_of_order}, "
        f"parked {report.parked} ({time.monotonic() - began:.1f} s)"
    )
    assert len(acked) == len(sent), Counter(status for _, _, status in hook.deliveries)
    assert kills >= 2
    assert (report.lost, report.twice, report.out_of_order, report.parked) == (0, 0, 0, 0)
    assert report.planned == TEACHERS  # every plan's planning part completed


async def test_one_update_posted_to_two_workers_at_once_is_processed_once(
    pg_url: str, tmp_path: Path
) -> None:
    async with TelegramEmulator() as tg:
        proxy = RoundRobinProxy([])
        await proxy.start()
        workers = await start_workers(tg, pg_url, tmp_path, proxy, n=2)
        try:
            teacher = 4242
            tg.send_text(teacher, "/start")
            await tg.wait_for_messages(teacher, 3, timeout=20)
            await asyncio.sleep(0.5)
            before = len(tg.bot_messages(teacher))
            update = {
                "update_id": 990001,
                "message": {
                    "message_id": 77,
                    "date": int(time.time()),
                    "chat": {"id": teacher, "type": "private", "first_name": "Lärare"},
                    "from": {"id": teacher, "is_bot": False, "first_name": "Lärare"},
                    "text": "Läsfrämjande insats i åk 4",
                },
            }
            body = json.dumps(update)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            import aiohttp

            async with aiohttp.ClientSession() as session:

                async def post(worker: Worker) -> int:
                    url = f"http://127.0.0.1:{worker.port}/telegram"
                    async with session.post(url, data=body, headers=headers) as response:
                        return response.status

                statuses = await asyncio.gather(*(post(w) for w in workers))
            assert statuses == [200, 200]
            await wait_processed(pg_url, timeout=20)
            await asyncio.sleep(1.0)
            replies = tg.bot_messages(teacher)[before:]
            conn = await asyncpg.connect(pg_url)
            try:
                stored = await conn.fetchval(
                    "SELECT count(*) FROM answers WHERE value->>'text' = $1",
                    "Läsfrämjande insats i åk 4",
                )
                rows = await conn.fetchval(
                    "SELECT count(*) FROM inbox WHERE key = $1", "telegram:990001"
                )
            finally:
                await conn.close()
        finally:
            for worker in workers:
                await worker.stop()
            await proxy.close()
    print(
        f"\nsame update at two workers: {len(replies)} reply, {stored} answer stored, "
        f"{rows} inbox row"
    )
    assert (stored, rows) == (1, 1)
    assert len(replies) == 1 and "Skola/enhet" in replies[0]["text"]
