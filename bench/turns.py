"""Durable chat turns per second: N simulated teachers answering the handlingsplan.

    python bench/turns.py --teachers 100 1000 10000 [--db sqlite|postgres] [--profile]

What one *turn* is: one `Conversation.handle(inbound)` on the real engine and the real store
(`storage.db.open_database(url).store`) with the real renderer (`exports.docx.render_document`):
load the teacher's snapshot, run the engine step, commit answer + cursor + version + idempotency
key in one transaction. Turns run one after another, so every answer is committed before the
next turn starts, as a chat platform delivering to one worker would see it.

The order is round-robin: every teacher starts (/start, and picking "Handlingsplan" when
the bot asks which kind of plan: the plan is created), then each teacher's
next answer in turn, teacher 0, 1, ..., N-1, 0, 1, ... A teacher's last planning answer
completes the plan, and the engine then sends the finished .docx within that turn (rendered
in `Conversation._with_document`); those turns are reported separately too.

For large N not every plan is completed: after all N have started, at most `--answers`
(default 20,000) answer turns are run, spread round-robin over all teachers, so with 10,000
teachers each gives 2 answers. The figures printed per N:

- starts/s, and answer turns/s (durable), with p50/p99 latency (ms) per answer turn, with
  and without the turns that render the finished document;
- throughput of the first and the last 10 % of answer turns (does it drop as data grows?);
- stored plans and answer rows;
- export: rendering one complete plan as .docx (median of 5), and a `/exportera` turn.

Default database: a fresh SQLite file in a temporary directory. `--db postgres` creates a
fresh database on postgresql://postgres@127.0.0.1:5432 (named planbot_bench_<pid>) and drops it
afterwards, then runs a bare asyncpg loop (the floor: what a durable turn costs without the
bot); `--db all` runs SQLite, PostgreSQL and the bare loop in one process run and prints them
side by side. `--inflight K` runs K consecutive turns (of K different teachers) at once, to
see what the SQLite writer's group commit buys; the default, 1, is the strict one-after-another
measurement above. `--profile` runs cProfile over the answer turns of the largest N and prints the
functions with the most cumulative and own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialogs.engine import Engine, StepResult
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.store import SessionStore
from dialogs.template import load_templates
from dialogs.types import (
    AnswerRecord,
    Changes,
    Inbound,
    InboundKind,
    Outbound,
    PlanStatus,
    Snapshot,
    UserRef,
)
from exports.docx import render_document
from storage.db import Database, open_database

TEMPLATE_NAME = "Handlingsplan"
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PG_ADMIN_DB = "test"

# One plan written from seed 001 and the template's examples, in question order, then the
# yes to the review of the whole plan.
ANSWERS: tuple[str, ...] = (
    "Tidig uppföljning av frånvaro i åk 7",
    "Ringsjöskolan, Höörs kommun",
    "Arbetslag 7–9 och elevhälsoteamet",
    "Närvarostatistiken för ht-25 visar att 14 % av eleverna i åk 7 har mer än 10 % frånvaro, "
    "främst på måndagar och under idrottslektionerna. Mentorerna beskriver att ströfrånvaron "
    "ofta inte följs upp förrän den blivit omfattande.",
    "Andelen elever i åk 7 med mer än 10 % frånvaro ska minska till under 8 % till vt-27. "
    "Tecken: all ströfrånvaro följs upp inom en vecka och fler elever kommer i tid på måndagar.",
    "Mentorerna kontaktar vårdnadshavare samma dag vid ogiltig frånvaro och har ett kort samtal "
    "med eleven dagen efter. Frånvaron stäms av varje vecka i arbetslaget.",
    "Alla elever i åk 7, särskilt de med upprepad ströfrånvaro.",
    "Mentorerna ringer hem, kuratorn håller i elevsamtalen och rektor följer upp i "
    "arbetslagsmötet. Vi samverkar med socialtjänstens fältgrupp.",
    "Varje skoldag vid första lektionen och en avstämning varje måndag i arbetslaget.",
    "30 minuter planeringstid i veckan för mentorerna och stöd av kuratorn.",
    "ht-26 – vt-27",
    "Ny närvarostatistik för åk 7 tas ut i maj och jämförs med ht-25. Mentorerna för korta "
    "samtal med fem elever var, och vi diskuterar resultaten i personalgruppen.",
    "20 maj 2027",
    "Mentorerna i åk 7 tillsammans med kuratorn.",
    "ja",  # the review: the plan is planerad, and the document comes in this turn
)


class TimedStore:
    """The real store, with the wall time of every load and commit noted (the split of a
    turn between the database and the engine)."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.loads: list[float] = []
        self.commits: list[float] = []

    async def load(self, user: UserRef, key: str) -> Snapshot:
        began = time.perf_counter()
        try:
            return await self.store.load(user, key)
        finally:
            self.loads.append(time.perf_counter() - began)

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        began = time.perf_counter()
        try:
            await self.store.commit(snapshot, changes, key)
        finally:
            self.commits.append(time.perf_counter() - began)

    async def history(self, plan_id: str) -> list[AnswerRecord]:
        return await self.store.history(plan_id)

    def reset(self) -> None:
        self.loads.clear()
        self.commits.clear()


class TimedEngine:
    """`Engine.step` with its wall time noted (the pure state machine's share of a turn)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.steps: list[float] = []
        self._step = engine.step

    def install(self) -> None:
        def step(snapshot: Snapshot, inbound: Inbound, now: dt.datetime) -> StepResult:
            began = time.perf_counter()
            try:
                return self._step(snapshot, inbound, now)
            finally:
                self.steps.append(time.perf_counter() - began)

        self.engine.step = step  # type: ignore[method-assign]


@dataclass
class Figures:
    teachers: int
    start_seconds: float = 0.0
    answer_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, per answer turn
    with_document: list[bool] = field(default_factory=list)  # the turn sent the .docx
    plans: int = 0
    answer_rows: int = 0
    completed: int = 0
    loads: list[float] = field(default_factory=list)  # store.load, per answer turn
    steps: list[float] = field(default_factory=list)  # engine.step, per answer turn
    commits: list[float] = field(default_factory=list)  # store.commit, per answer turn
    render_ms: float = 0.0
    export_turn_ms: float = 0.0


def teacher(i: int) -> UserRef:
    return UserRef(channel="bench", external_id=f"teacher-{i:05d}", display_name=f"Lärare {i}")


class Turns:
    """Numbered inbounds, so every turn has its own idempotency key."""

    def __init__(self) -> None:
        self.n = 0

    def text(self, user: UserRef, text: str) -> Inbound:
        self.n += 1
        return Inbound(user=user, kind=InboundKind.TEXT, key=f"bench:{self.n}", text=text)

    def choice(self, user: UserRef, value: str) -> Inbound:
        self.n += 1
        return Inbound(user=user, kind=InboundKind.CHOICE, key=f"bench:{self.n}", choice=value)

    def start(self, user: UserRef) -> Inbound:
        self.n += 1
        return Inbound(user=user, kind=InboundKind.START, key=f"bench:{self.n}")


def has_document(outs: list[Outbound]) -> bool:
    return any(o.document is not None for o in outs)


async def run(
    conversation: Conversation,
    store: TimedStore,
    engine: TimedEngine,
    database: Database,
    teachers: int,
    max_answers: int,
    profiler: cProfile.Profile | None,
    inflight: int = 1,
) -> Figures:
    assert inflight <= teachers
    figures = Figures(teachers)
    turns = Turns()
    users = [teacher(i) for i in range(teachers)]

    t0 = time.perf_counter()

    async def start(user: UserRef) -> None:
        outs = await conversation.handle(turns.start(user))
        # With several templates the first message is "which kind of plan?": pick ours.
        picks = [c for o in outs for c in o.choices if c.label == TEMPLATE_NAME]
        if picks:
            outs = await conversation.handle(turns.choice(user, picks[0].value))
        assert any(o.is_question and o.progress for o in outs), outs

    # Starts of different teachers, `inflight` at a time (only the setup of the store).
    for k in range(0, teachers, inflight):
        await asyncio.gather(*(start(user) for user in users[k : k + inflight]))
    figures.start_seconds = time.perf_counter() - t0

    total = min(max_answers, teachers * len(ANSWERS))
    store.reset()
    engine.steps.clear()
    if profiler is not None:
        profiler.enable()
    t0 = time.perf_counter()

    async def one(k: int) -> None:
        inbound = turns.text(users[k % teachers], ANSWERS[k // teachers])
        began = time.perf_counter()
        outs = await conversation.handle(inbound)
        figures.latencies.append(time.perf_counter() - began)
        figures.with_document.append(has_document(outs))

    # `inflight` consecutive turns of the round-robin order run at once; they belong to
    # different teachers as long as inflight <= teachers, so each teacher stays sequential.
    for k in range(0, total, inflight):
        if inflight == 1:
            await one(k)
        else:
            await asyncio.gather(*(one(j) for j in range(k, min(k + inflight, total))))
    figures.answer_seconds = time.perf_counter() - t0
    if profiler is not None:
        profiler.disable()
    figures.loads, figures.commits = list(store.loads), list(store.commits)
    figures.steps = list(engine.steps)

    # Export: complete teacher 0's plan (if the run did not), then time the rendering.
    given = (total - 1) // teachers + 1 if total else 0
    for answer in ANSWERS[given:]:
        await conversation.handle(turns.text(users[0], answer))
    snapshot = await database.store.load(users[0], key="")
    plan = next(iter(snapshot.plans.values()))
    assert plan.status is PlanStatus.PLANNED, plan.status
    template = conversation.templates[plan.template_id]
    now = dt.datetime.now(dt.UTC)
    times = []
    for _ in range(5):
        began = time.perf_counter()
        document = render_document(template, plan, draft=False, now=now)
        times.append(time.perf_counter() - began)
    assert document.data.startswith(b"PK")
    figures.render_ms = statistics.median(times) * 1000
    began = time.perf_counter()
    outs = await conversation.handle(turns.text(users[0], "/exportera"))
    figures.export_turn_ms = (time.perf_counter() - began) * 1000
    assert has_document(outs)

    figures.plans, figures.answer_rows, figures.completed = await count_rows(database)
    return figures


async def count_rows(database: Database) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from storage.models import answers, plans

    async with database.engine.connect() as conn:
        n_plans = (await conn.execute(select(func.count()).select_from(plans))).scalar_one()
        n_answers = (await conn.execute(select(func.count()).select_from(answers))).scalar_one()
        n_done = (
            await conn.execute(
                select(func.count())
                .select_from(plans)
                .where(plans.c.status != PlanStatus.IN_PROGRESS.value)
            )
        ).scalar_one()
    return int(n_plans), int(n_answers), int(n_done)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(f: Figures, inflight: int) -> None:
    ms = 1000
    n = len(f.latencies)
    plain = [t for t, doc in zip(f.latencies, f.with_document, strict=True) if not doc]
    documents = [t for t, doc in zip(f.latencies, f.with_document, strict=True) if doc]
    # Growth check on the turns without a document (in round-robin order the completing
    # turns all come last and would hide any change in the store's cost).
    tenth = max(1, len(plain) // 10)
    first = tenth / sum(plain[:tenth])
    last = tenth / sum(plain[-tenth:])
    print(f"── {f.teachers:,} teachers ──")
    print(
        f"  starts            {f.teachers:>8,} in {f.start_seconds:6.2f} s "
        f"= {f.teachers / f.start_seconds:7.0f} /s"
    )
    # Rates from summed latencies only mean something when turns do not overlap.
    sequential = inflight == 1
    print(
        f"  answer turns      {n:>8,} in {f.answer_seconds:6.2f} s "
        f"= {n / f.answer_seconds:7.0f} durable turns/s"
        + (f"   (without the .docx turns: {len(plain) / sum(plain):5.0f} /s)" if sequential else "")
    )
    print(
        f"  latency (all)     p50 {percentile(f.latencies, 0.5) * ms:6.2f} ms   "
        f"p99 {percentile(f.latencies, 0.99) * ms:6.2f} ms   "
        f"max {max(f.latencies) * ms:6.2f} ms"
    )
    print(
        f"  latency (no docx) p50 {percentile(plain, 0.5) * ms:6.2f} ms   "
        f"p99 {percentile(plain, 0.99) * ms:6.2f} ms"
    )
    if documents:
        print(
            f"  completing turns  {len(documents):>8,} (send the .docx)   "
            f"p50 {percentile(documents, 0.5) * ms:6.2f} ms"
        )
    print(
        f"  split (p50)       load {percentile(f.loads, 0.5) * ms:5.2f} ms · "
        f"engine.step {percentile(f.steps, 0.5) * ms:5.2f} ms · "
        f"commit {percentile(f.commits, 0.5) * ms:5.2f} ms "
        f"(p99 {percentile(f.commits, 0.99) * ms:5.2f} ms)"
    )
    if sequential:
        print(
            f"  first 10 %        {first:7.0f} turns/s   last 10 % {last:7.0f} turns/s   "
            f"({(last / first - 1) * 100:+.0f} %, turns without .docx)"
        )
    print(
        f"  stored            {f.plans:,} plans ({f.completed:,} planerade), "
        f"{f.answer_rows:,} answer rows"
    )
    print(
        f"  export            render_document {f.render_ms:6.1f} ms   "
        f"/exportera turn {f.export_turn_ms:6.1f} ms"
    )
    sys.stdout.flush()


@asynccontextmanager
async def fresh_database(kind: str, teachers: int) -> AsyncIterator[Database]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="planbot-bench-") as tmp:
            database = await open_database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
            try:
                yield database
            finally:
                await database.close()
        return
    import asyncpg  # type: ignore[import-untyped]

    name = f"planbot_bench_{os.getpid()}_{teachers}"
    admin_dsn = f"postgresql://postgres@127.0.0.1:5432/{PG_ADMIN_DB}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        database = await open_database(f"{PG_SERVER}/{name}")
        try:
            yield database
        finally:
            await database.close()
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def bare_asyncpg(teachers: int, turns: int, inflight: int) -> Figures:
    """The floor on this machine: a bare asyncpg loop doing what a durable turn must (read the
    teacher's state, then in one autocommitted statement write the answer and the new state
    and record the key), `inflight` at once on a pool of as many connections. No engine, no
    ORM, no JSON beyond one small document."""
    import asyncpg

    figures = Figures(teachers)
    name = f"planbot_bare_{os.getpid()}"
    admin_dsn = f"postgresql://postgres@127.0.0.1:5432/{PG_ADMIN_DB}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        pool = await asyncpg.create_pool(
            f"postgresql://postgres@127.0.0.1:5432/{name}", min_size=inflight, max_size=inflight
        )
        try:
            async with pool.acquire() as db:
                await db.execute(
                    "CREATE TABLE t_users (id int PRIMARY KEY, state jsonb NOT NULL, "
                    "version int NOT NULL);"
                    "CREATE TABLE t_answers (id bigserial PRIMARY KEY, user_id int NOT NULL, "
                    "path text NOT NULL, value jsonb NOT NULL, created_at timestamptz NOT NULL);"
                    "CREATE TABLE t_keys (key text PRIMARY KEY, created_at timestamptz NOT NULL);"
                    "CREATE INDEX ON t_answers (user_id, path, id);"
                )
                await db.execute(
                    'INSERT INTO t_users SELECT i, \'{"cursor": "q0"}\', 1 '
                    "FROM generate_series(0, $1 - 1) AS i",
                    teachers,
                )
            write = (
                "WITH u AS (UPDATE t_users SET state = $2::jsonb, version = version + 1 "
                "WHERE id = $1 AND version = $3 RETURNING id), "
                "a AS (INSERT INTO t_answers (user_id, path, value, created_at) "
                "SELECT id, $4, $5::jsonb, now() FROM u), "
                "k AS (INSERT INTO t_keys SELECT $6, now() FROM u) SELECT count(*) FROM u"
            )

            async def one(k: int) -> None:
                user = k % teachers
                began = time.perf_counter()
                async with pool.acquire() as db:
                    state, version = await db.fetchrow(
                        "SELECT state::text, version FROM t_users WHERE id = $1", user
                    )
                    assert json.loads(state)["cursor"]  # the state is read and decoded
                    path = f"q{k // teachers}"
                    value = f'{{"text": "{ANSWERS[(k // teachers) % len(ANSWERS)][:40]}"}}'
                    done = await db.fetchval(
                        write, user, f'{{"cursor": "{path}"}}', version, path, value, f"bare:{k}"
                    )
                    assert done == 1
                figures.latencies.append(time.perf_counter() - began)
                figures.with_document.append(False)

            t0 = time.perf_counter()
            for k in range(0, turns, inflight):
                await asyncio.gather(*(one(j) for j in range(k, min(k + inflight, turns))))
            figures.answer_seconds = time.perf_counter() - t0
        finally:
            await pool.close()
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    return figures


def summary(rows: list[tuple[str, Figures]], inflight: int) -> None:
    print(f"\n── side by side: durable answer turns, {inflight} in flight ──")
    print(
        f"  {'backend':<28} {'teachers':>8} {'turns':>7} {'turns/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for label, f in rows:
        n = len(f.latencies)
        print(
            f"  {label:<28} {f.teachers:>8,} {n:>7,} {n / f.answer_seconds:>8.0f} "
            f"{percentile(f.latencies, 0.5) * 1000:>7.2f} "
            f"{percentile(f.latencies, 0.99) * 1000:>7.2f}"
        )
    sys.stdout.flush()


async def main_async(args: argparse.Namespace) -> None:
    templates = load_templates(language="sv")
    messages = Messages.load("sv")
    print(
        f"planbot bench: {args.db}, python {sys.version.split()[0]}, {os.cpu_count()} cpu, "
        f"at most {args.answers:,} answer turns per run, {args.inflight} in flight"
    )
    largest = max(args.teachers)
    kinds = ["sqlite", "postgres"] if args.db == "all" else [args.db]
    rows: list[tuple[str, Figures]] = []
    for kind, teachers in [(k, t) for k in kinds for t in args.teachers]:
        async with fresh_database(kind, teachers) as database:
            store = TimedStore(database.store)
            conversation = Conversation(store, templates, render_document, messages=messages)
            engine = TimedEngine(conversation.engine)
            engine.install()
            profiler = cProfile.Profile() if args.profile and teachers == largest else None
            figures = await run(
                conversation,
                store,
                engine,
                database,
                teachers,
                args.answers,
                profiler,
                min(args.inflight, teachers),
            )
            print(f"[{kind}]")
            report(figures, min(args.inflight, teachers))
            rows.append((f"planbot on {kind}", figures))
            if profiler is not None:
                print_profile(profiler, args.profile_lines)
    if args.db in ("postgres", "all"):
        for teachers in args.teachers:
            turns = min(args.answers, teachers * len(ANSWERS))
            bare = await bare_asyncpg(teachers, turns, min(args.inflight, teachers))
            rows.append(("bare asyncpg loop (floor)", bare))
    if len(rows) > 1:
        summary(rows, args.inflight)


def print_profile(profiler: cProfile.Profile, lines: int) -> None:
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(lines)
        print(f"\n── cProfile, answer turns, by {order} ──")
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teachers", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres", "all"),
        default="sqlite",
        help="all: SQLite, PostgreSQL and a bare asyncpg loop, side by side in one run",
    )
    parser.add_argument(
        "--answers",
        type=int,
        default=20_000,
        help="at most this many answer turns per run, spread round-robin (default 20,000)",
    )
    parser.add_argument(
        "--inflight",
        type=int,
        default=1,
        help="turns of different teachers handled concurrently (default 1: strictly one "
        "after another); shows what the SQLite group commit buys",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the largest run")
    parser.add_argument("--profile-lines", type=int, default=40)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
