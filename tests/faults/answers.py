"""What the fault tests send (the handlingsplan answered from seed 001) and how they check
the database afterwards: lost, processed twice, out of order, parked."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg

# One plan, in question order (as in bench/turns.py): every answer valid for its question.
ANSWERS: tuple[str, ...] = (
    "Tidig uppföljning av frånvaro i åk 7",
    "Ringsjöskolan, Höörs kommun",
    "Arbetslag 7–9 och elevhälsoteamet",
    "Närvarostatistiken för ht-25 visar att 14 % av eleverna i åk 7 har mer än 10 % frånvaro.",
    "Andelen elever i åk 7 med mer än 10 % frånvaro ska minska till under 8 % till vt-27.",
    "Mentorerna kontaktar vårdnadshavare samma dag vid ogiltig frånvaro.",
    "Alla elever i åk 7, särskilt de med upprepad ströfrånvaro.",
    "Mentorerna ringer hem, kuratorn håller i elevsamtalen och rektor följer upp.",
    "Varje skoldag vid första lektionen och en avstämning varje måndag i arbetslaget.",
    "30 minuter planeringstid i veckan för mentorerna och stöd av kuratorn.",
    "ht-26 – vt-27",
    "Ny närvarostatistik för åk 7 tas ut i maj och jämförs med ht-25.",
    "20 maj 2027",
    "Mentorerna i åk 7 tillsammans med kuratorn.",
)

# After the last answer the teacher sees the plan and confirms it ("ja"): then it is planerad.
MESSAGES: tuple[str, ...] = (*ANSWERS, "ja")


@dataclass
class Report:
    lost: int = 0
    twice: int = 0
    out_of_order: int = 0
    parked: int = 0
    planned: int = 0


async def wait_processed(url: str, timeout: float) -> None:
    """Until no inbox row is pending (the workers have processed everything stored)."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(url)
    try:
        while True:
            pending = await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'pending'")
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pending} inbox rows still pending")
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def check_teachers(url: str, *, channel: str, teachers: list[str], keys: list[str]) -> Report:
    report = Report()
    conn = await asyncpg.connect(url)
    try:
        processed = {
            r[0]
            for r in await conn.fetch("SELECT key FROM processed_keys WHERE key = ANY($1)", keys)
        }
        report.lost = len(set(keys) - processed)
        report.parked = await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'parked'")
        for teacher in teachers:
            rows = await conn.fetch(
                "SELECT a.path, a.value->>'text' FROM answers a JOIN plans p ON p.id = a.plan_id "
                "JOIN users u ON u.id = p.user_id WHERE u.channel = $1 AND u.external_id = $2 "
                "ORDER BY a.id",
                channel,
                teacher,
            )
            texts = [text for _, text in rows]
            paths = [path for path, _ in rows]
            report.twice += len(paths) - len(set(paths))
            # Each teacher's answers stored exactly as sent: in order, none missing or extra.
            report.out_of_order += int(texts != list(ANSWERS))
            status = await conn.fetchval(
                "SELECT p.status FROM plans p JOIN users u ON u.id = p.user_id "
                "WHERE u.channel = $1 AND u.external_id = $2",
                channel,
                teacher,
            )
            report.planned += int(status == "planerad")
    finally:
        await conn.close()
    return report
