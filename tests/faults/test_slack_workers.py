"""Three `planbot slack --http` workers behind one address, on one PostgreSQL database, with
the Slack fake as Slack: events signed and re-sent with X-Slack-Retry-Num when not
acknowledged, as the Events API does.

Workers are SIGKILLed at random moments while 20 teachers send 320 messages; every event Slack
saw acknowledged must be processed exactly once, in each teacher's order. The figures are
printed."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from bot.slack import EVENTS_PATH
from tests.e2e.slack_fake import BOT_TOKEN, SIGNING_SECRET, SlackFake, SlackUser
from tests.faults.answers import MESSAGES, check_teachers, wait_processed
from tests.faults.proxy import RoundRobinProxy
from tests.faults.workers import Worker, base_env, chaos, free_port, wait_listening

TEACHERS = 20


async def test_http_workers_killed_at_random_lose_and_repeat_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    async with SlackFake() as fake:
        env = base_env(
            pg_url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            PLANBOT_SLACK_API_URL=fake.api_url,
        )
        ports = [free_port() for _ in range(3)]
        proxy = RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
        await proxy.start()
        workers = [
            Worker(
                ["slack", "--http", "--port", str(port), "--listen", "127.0.0.1"],
                env,
                tmp_path / f"worker{i}.log",
                port,
            )
            for i, port in enumerate(ports)
        ]
        teachers = [
            SlackUser(fake, proxy.url + EVENTS_PATH, user_id=f"U0T{t:03d}") for t in range(TEACHERS)
        ]
        try:
            for worker in workers:
                await worker.start()
            for worker in workers:
                await wait_listening(worker.port)
            stop = asyncio.Event()
            killer = asyncio.create_task(chaos(workers, stop, seed=random.randrange(1 << 30)))
            acked: list[str] = []
            unacked: list[str] = []
            retried = 0
            failures: Counter[str] = Counter()

            async def converse(teacher: SlackUser) -> None:
                nonlocal retried
                for text in ("hej", *MESSAGES):
                    message = fake.add_user_message(teacher.channel, teacher.user_id, text)
                    delivery = await teacher.deliver_event(teacher.message_event(text, message.ts))
                    outcomes = delivery.body.split(",")
                    retried += len(outcomes) - 1
                    failures.update(outcomes[:-1] if delivery.status == 200 else outcomes)
                    (acked if delivery.status == 200 else unacked).append(delivery.event_id)
                    await asyncio.sleep(random.uniform(0.1, 0.4))

            await asyncio.gather(*(converse(t) for t in teachers))
            stop.set()
            kills = await killer
            for worker in workers:
                if not worker.alive:
                    await worker.start()
            await wait_processed(pg_url, timeout=40)
            report = await check_teachers(
                pg_url,
                channel="slack",
                teachers=[t.user_id for t in teachers],
                keys=[f"slack:{event_id}" for event_id in acked],
            )
        finally:
            for worker in workers:
                await worker.stop()
            await proxy.close()
            for teacher in teachers:
                await teacher.close()
    sent = TEACHERS * (len(MESSAGES) + 1)
    print(
        f"\nslack http, 3 workers: {sent} events, {len(acked)} acknowledged, {kills} SIGKILLs, "
        f"{retried} retries (X-Slack-Retry-Num) after {dict(failures)}; lost {report.lost}, "
        f"processed twice {report.twice}, out of order {report.out_of_order}, "
        f"parked {report.parked} ({time.monotonic() - began:.1f} s)"
    )
    assert unacked == [] and len(acked) == sent
    assert kills >= 2
    assert (report.lost, report.twice, report.out_of_order, report.parked) == (0, 0, 0, 0)
    assert report.planned == TEACHERS
