"""Four processes answer 50 times each for the same teacher, at once, on PostgreSQL and on
SQLite: version conflicts are retried (jittered backoff within a time budget) until each
answer is committed — no errors, none lost, each process's answers in the order it sent them.
The figures are printed."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

from sqlalchemy import text

from bot.app import start_runtime
from bot.settings import Settings
from dialogs.types import Inbound, InboundKind
from tests.channel_prompts import handlingsplan_only
from tests.faults.racer import TEACHER

PROCESSES, ANSWERS_EACH = 4, 50


async def test_four_processes_racing_on_postgresql_all_commit_in_order(pg_url: str) -> None:
    await race("postgresql", pg_url)


async def test_four_processes_racing_on_sqlite_all_commit_in_order(tmp_path: Path) -> None:
    await race("sqlite", f"sqlite:///{tmp_path / 'race.db'}")


async def race(backend: str, url: str) -> None:
    settings = Settings(database_url=url, prompts_dir=handlingsplan_only(), _env_file=None)  # type: ignore[call-arg]
    runtime = await start_runtime(settings)
    try:
        await runtime.conversation.handle(
            Inbound(user=TEACHER, kind=InboundKind.START, key="race:start")
        )
    finally:
        await runtime.close()

    racers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.faults.racer",
            url,
            str(p),
            str(ANSWERS_EACH),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
        )
        for p in range(PROCESSES)
    ]
    for racer in racers:
        assert racer.stdout is not None
        assert (await asyncio.wait_for(racer.stdout.readline(), 30)).strip() == b"ready"
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write(b"go\n")
        await racer.stdin.drain()
    results = []
    for racer in racers:
        out, _ = await asyncio.wait_for(racer.communicate(), 60)
        results.append(json.loads(out.decode().strip().splitlines()[-1]))

    runtime = await start_runtime(settings)
    try:
        async with runtime.database.engine.connect() as conn:
            keys = (
                await conn.execute(
                    text("SELECT count(*) FROM processed_keys WHERE key LIKE 'race:%:%'")
                )
            ).scalar_one()
        snapshot = await runtime.database.store.load(TEACHER, "")
        history = [
            a.value.text
            for plan_id in snapshot.plans
            for a in await runtime.database.store.history(plan_id)
        ]
    finally:
        await runtime.close()
    errors = [e for r in results for e in r["errors"]]
    conflicts = sum(r["conflicts"] for r in results)
    lost = PROCESSES * ANSWERS_EACH - keys
    out_of_order = 0
    for p in range(PROCESSES):
        mine = [int(m.group(1)) for t in history if (m := re.fullmatch(rf"Svar {p}-(\d+)", t))]
        out_of_order += int(mine != sorted(mine))
    print(
        f"\n{backend}: {PROCESSES} processes × {ANSWERS_EACH} answers for one teacher: "
        f"{len(errors)} errors, {lost} lost, {conflicts} version conflicts retried, "
        f"{out_of_order} out of order, slowest process "
        f"{max(r['seconds'] for r in results):.1f} s"
    )
    assert errors == []
    assert lost == 0
    assert out_of_order == 0
    assert history, "some answers were stored as answers"
