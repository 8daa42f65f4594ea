"""The durable store, on SQLite and on PostgreSQL, held to MemoryStore's behaviour.

Every database test runs twice: against an SQLite file in tmp_path and against a database
of its own on the local PostgreSQL server (PLANBOT_TEST_POSTGRES_URL, default
postgresql+asyncpg://postgres@127.0.0.1:5432/test). One database is created per test session
and its `public` schema is dropped and recreated before each test. If the server cannot be
reached the PostgreSQL tests fail and say so: they never skip silently.

Scenario tests also run on MemoryStore, so that both stores are seen to behave the same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import platformdirs
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from dialogs.store import MemoryStore, SessionStore, VersionConflict
from dialogs.types import (
    AnswerRecord,
    AnswerValue,
    Changes,
    PlanRecord,
    PlanStatus,
    Snapshot,
    UserRef,
)
from storage import (
    Database,
    default_database_url,
    migrate,
    normalize_url,
    open_database,
    repository,
)
from storage.db import alembic_config, create_engine, downgrade, upgrade
from storage.models import Base, answers, plans, processed_keys, users

POSTGRES_URL = os.environ.get(
    "PLANBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

NOW = dt.datetime(2026, 3, 15, 9, 30, tzinfo=dt.UTC)
ANNA = UserRef(channel="telegram", external_id="4711", display_name="Anna")
BERIT = UserRef(channel="slack", external_id="U0BERIT", display_name="Berit")


# --------------------------------------------------------------------------- PostgreSQL


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {url} ({exc!r}). These tests need it: start the "
            "server, or set PLANBOT_TEST_POSTGRES_URL to one that accepts CREATE DATABASE.",
            pytrace=False,
        )


def _run_aside(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` to completion on a loop of its own, even if called from inside a test's
    event loop (fixtures may be requested lazily from async fixtures)."""
    with ThreadPoolExecutor(1) as worker:
        worker.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end."""
    name = f"planbot_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await _admin(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _run_aside(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_aside(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_postgres(url: str) -> str:
    conn = await _admin(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    return url


# --------------------------------------------------------------------------- fixtures

SQL_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=SQL_BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: an SQLite file, or a wiped PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}"
    return await _empty_postgres(request.getfixturevalue("postgres_database"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = await open_database(database_url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture(params=["memory", *SQL_BACKENDS])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    """Each store the engine may be given: MemoryStore and SqlStore on both databases."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'planbot.db'}"
    else:
        url = await _empty_postgres(request.getfixturevalue("postgres_database"))
    db = await open_database(url)
    try:
        yield db.store
    finally:
        await db.close()


# --------------------------------------------------------------------------- helpers


def a_plan(plan_id: str | None = None, **fields: Any) -> PlanRecord:
    values: dict[str, Any] = {
        "id": plan_id or uuid.uuid4().hex,
        "template_id": "handlingsplan",
        "title": "Läsförståelse åk 4",
        "state": {"cursor": ["steg1", 0]},
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }
    return PlanRecord(**values)


def an_answer(plan_id: str, path: str, text: str, at: dt.datetime = NOW) -> AnswerRecord:
    return AnswerRecord(plan_id=plan_id, path=path, value=AnswerValue(text=text), created_at=at)


def answering(snapshot: Snapshot, plan: PlanRecord, *given: AnswerRecord) -> Changes:
    """What the engine writes for answers: the plan with its new current answers, the
    history rows, and the user state pointing at the plan."""
    updated = plan.model_copy(deep=True)
    for record in given:
        updated.answers[record.path] = record.value
    return Changes(
        user_state={**snapshot.user.state, "active_plan": plan.id},
        plans={plan.id: updated},
        answers=list(given),
    )


async def answer(
    store: SessionStore, user: UserRef, plan_id: str, path: str, text: str, key: str
) -> Snapshot:
    """One turn as the service runs it: load, step, commit, and on a conflict try again."""
    for _ in range(50):
        snapshot = await store.load(user, key)
        if snapshot.key_seen:
            return snapshot
        plan = snapshot.plans.get(plan_id) or a_plan(plan_id)
        try:
            await store.commit(
                snapshot, answering(snapshot, plan, an_answer(plan_id, path, text)), key
            )
        except VersionConflict:
            continue
        return snapshot
    raise AssertionError("no commit after 50 attempts")


def current_texts(snapshot: Snapshot, plan_id: str) -> dict[str, str]:
    return {path: value.text for path, value in snapshot.plans[plan_id].answers.items()}


async def count_rows(db: Database) -> dict[str, int]:
    async with db.engine.connect() as conn:
        return {
            table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (users, plans, answers, processed_keys)
        }


# --------------------------------------------------------------------------- durability


async def test_answer_survives_reopening_the_database(database_url: str) -> None:
    plan = a_plan(status=PlanStatus.PLANNED, state={"cursor": ["steg2", 1], "nested": [1, "två"]})
    given = AnswerRecord(
        plan_id=plan.id,
        path="steg1.period",
        value=AnswerValue(
            text="ht-26 – vt-27",
            items=("läsa", "skriva"),
            start=dt.date(2026, 8, 1),
            end=dt.date(2027, 6, 30),
            number=24,
            choice="Ja",
        ),
        # a teacher's local time: must come back as the same instant, in UTC
        created_at=dt.datetime(2026, 3, 15, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    db = await open_database(database_url)
    snapshot = await db.store.load(ANNA, "update-1")
    await db.store.commit(snapshot, answering(snapshot, plan, given), "update-1")
    await db.close()

    db = await open_database(database_url)
    try:
        reloaded = await db.store.load(ANNA, "update-1")
        history = await db.store.history(plan.id)
    finally:
        await db.close()

    assert reloaded.key_seen
    assert reloaded.user.version == 1
    assert reloaded.user.id is not None
    assert reloaded.user.state == {"active_plan": plan.id}
    stored = reloaded.plans[plan.id]
    assert stored.answers == {"steg1.period": given.value}
    assert (stored.status, stored.title, stored.state) == (plan.status, plan.title, plan.state)
    assert stored.created_at == NOW and stored.created_at.tzinfo is not None
    assert history == [given]
    assert history[0].created_at.utcoffset() == dt.timedelta(0)


async def test_plan_changes_are_kept_and_a_new_plan_sits_beside_the_first(
    store: SessionStore,
) -> None:
    first = a_plan()
    snapshot = await store.load(ANNA, "k1")
    await store.commit(snapshot, answering(snapshot, first), "k1")
    snapshot = await store.load(ANNA, "k2")
    renamed = snapshot.plans[first.id].model_copy(
        update={"title": "Nytt namn", "status": PlanStatus.DONE, "updated_at": NOW}
    )
    second = a_plan(title="Matematik")
    await store.commit(
        snapshot,
        Changes(user_state={"n": 2}, plans={first.id: renamed, second.id: second}),
        "k2",
    )
    snapshot = await store.load(ANNA, "k3")
    assert snapshot.plans[first.id].title == "Nytt namn"
    assert snapshot.plans[first.id].status is PlanStatus.DONE
    assert snapshot.plans[second.id].title == "Matematik"
    assert snapshot.user.version == 2
    assert snapshot.user.state == {"n": 2}


# --------------------------------------------------------------------------- history


async def test_edit_keeps_the_earlier_answer_in_history(store: SessionStore) -> None:
    plan_id = uuid.uuid4().hex
    await answer(store, ANNA, plan_id, "steg1.nulage", "Många elever läser långsamt.", "k1")
    await answer(store, ANNA, plan_id, "steg1.mal", "Alla läser 100 ord/min.", "k2")
    await answer(store, ANNA, plan_id, "steg1.nulage", "Hälften läser under 80 ord/min.", "k3")

    snapshot = await store.load(ANNA, "k4")
    assert current_texts(snapshot, plan_id) == {
        "steg1.nulage": "Hälften läser under 80 ord/min.",
        "steg1.mal": "Alla läser 100 ord/min.",
    }
    history = await store.history(plan_id)
    assert [(a.path, a.value.text) for a in history] == [
        ("steg1.nulage", "Många elever läser långsamt."),
        ("steg1.mal", "Alla läser 100 ord/min."),
        ("steg1.nulage", "Hälften läser under 80 ord/min."),
    ]


async def test_current_answer_is_the_latest_even_after_many_edits(database: Database) -> None:
    plan_id = uuid.uuid4().hex
    for i in range(30):
        await answer(database.store, ANNA, plan_id, f"q{i % 3}", f"svar {i}", f"k{i}")
    snapshot = await database.store.load(ANNA, "x")
    assert current_texts(snapshot, plan_id) == {"q0": "svar 27", "q1": "svar 28", "q2": "svar 29"}
    assert len(await database.store.history(plan_id)) == 30


# --------------------------------------------------------------------------- idempotency


async def test_same_key_twice_is_seen_and_changes_nothing(store: SessionStore) -> None:
    plan = a_plan()
    # The platform delivers update 42 twice, and both deliveries are loaded before either
    # is committed.
    first = await store.load(ANNA, "update-42")
    second = await store.load(ANNA, "update-42")
    assert not first.key_seen and not second.key_seen
    await store.commit(first, answering(first, plan, an_answer(plan.id, "q", "Ja")), "update-42")
    with pytest.raises(VersionConflict):
        await store.commit(
            second, answering(second, plan, an_answer(plan.id, "q", "Ja")), "update-42"
        )

    # The retry sees the key and so the service only repeats its answer.
    again = await store.load(ANNA, "update-42")
    assert again.key_seen
    assert again.user.version == 1
    assert [a.value.text for a in await store.history(plan.id)] == ["Ja"]
    assert not (await store.load(ANNA, "update-43")).key_seen


async def test_a_key_recorded_twice_by_stale_snapshots_is_refused(database: Database) -> None:
    # Even if the version check passed (a different user), a key is only ever applied once.
    plan = a_plan()
    anna = await database.store.load(ANNA, "shared")
    berit = await database.store.load(BERIT, "shared")
    await database.store.commit(anna, answering(anna, plan), "shared")
    with pytest.raises(VersionConflict):
        await database.store.commit(berit, answering(berit, a_plan()), "shared")
    assert (await database.store.load(BERIT, "other")).user.version == 0


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_commits_one_conflicts_and_retry_wins_nothing_lost(
    store: SessionStore,
) -> None:
    plan_id = uuid.uuid4().hex
    await answer(store, ANNA, plan_id, "steg1.nulage", "Start", "k0")

    # Two messages for the same plan arrive at once: both are loaded at version 1.
    one = await store.load(ANNA, "k1")
    two = await store.load(ANNA, "k2")
    await store.commit(
        one, answering(one, one.plans[plan_id], an_answer(plan_id, "steg1.mal", "Mål")), "k1"
    )
    with pytest.raises(VersionConflict):
        await store.commit(
            two,
            answering(two, two.plans[plan_id], an_answer(plan_id, "steg1.orsak", "Orsak")),
            "k2",
        )

    # The loser reloads and tries again, on top of the winner's answer.
    retry = await store.load(ANNA, "k2")
    assert not retry.key_seen
    await store.commit(
        retry,
        answering(retry, retry.plans[plan_id], an_answer(plan_id, "steg1.orsak", "Orsak")),
        "k2",
    )

    final = await store.load(ANNA, "k3")
    assert final.user.version == 3
    assert current_texts(final, plan_id) == {
        "steg1.nulage": "Start",
        "steg1.mal": "Mål",
        "steg1.orsak": "Orsak",
    }
    assert len(await store.history(plan_id)) == 3


async def test_many_simultaneous_messages_for_one_plan_all_arrive(database: Database) -> None:
    plan_id = uuid.uuid4().hex
    await answer(database.store, ANNA, plan_id, "q-start", "start", "k-start")
    await asyncio.gather(
        *(answer(database.store, ANNA, plan_id, f"q{i}", f"svar {i}", f"k{i}") for i in range(12))
    )
    final = await database.store.load(ANNA, "x")
    assert final.user.version == 13
    assert len(current_texts(final, plan_id)) == 13
    assert len(await database.store.history(plan_id)) == 13


async def test_two_commits_from_one_snapshot_at_the_same_moment_one_wins(
    database: Database,
) -> None:
    # On SQLite both land in one batch of the writer: the loser's savepoint is rolled back
    # and the winner is still committed.
    plan_id = uuid.uuid4().hex
    await answer(database.store, ANNA, plan_id, "q0", "start", "k0")
    snapshot = await database.store.load(ANNA, "k1")
    plan = snapshot.plans[plan_id]
    results = await asyncio.gather(
        database.store.commit(
            snapshot, answering(snapshot, plan, an_answer(plan_id, "q1", "ett")), "k1"
        ),
        database.store.commit(
            snapshot, answering(snapshot, plan, an_answer(plan_id, "q2", "två")), "k2"
        ),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "VersionConflict"]
    final = await database.store.load(ANNA, "k2")
    assert final.user.version == 2
    assert len(current_texts(final, plan_id)) == 2
    assert final.key_seen == (results[1] is None)
    assert len(await database.store.history(plan_id)) == 2


async def test_first_commit_of_a_new_user_races(store: SessionStore) -> None:
    # A brand-new teacher taps twice: both snapshots say "unknown user, version 0".
    one = await store.load(BERIT, "k1")
    two = await store.load(BERIT, "k2")
    assert one.user.version == two.user.version == 0
    assert one.user.id is None
    plan_a, plan_b = a_plan(), a_plan()
    await store.commit(one, answering(one, plan_a, an_answer(plan_a.id, "q", "A")), "k1")
    with pytest.raises(VersionConflict):
        await store.commit(two, answering(two, plan_b, an_answer(plan_b.id, "q", "B")), "k2")

    retry = await store.load(BERIT, "k2")
    assert retry.user.version == 1 and retry.user.id is not None
    await store.commit(retry, answering(retry, plan_b, an_answer(plan_b.id, "q", "B")), "k2")
    final = await store.load(BERIT, "k3")
    assert final.user.version == 2
    assert {pid: current_texts(final, pid) for pid in final.plans} == {
        plan_a.id: {"q": "A"},
        plan_b.id: {"q": "B"},
    }


async def test_first_commits_racing_for_real_leave_one_user(database: Database) -> None:
    await asyncio.gather(
        *(answer(database.store, BERIT, uuid.uuid4().hex, "q", str(i), f"k{i}") for i in range(6))
    )
    final = await database.store.load(BERIT, "x")
    assert final.user.version == 6
    assert len(final.plans) == 6
    assert (await count_rows(database))["users"] == 1


# --------------------------------------------------------------------------- deletion


async def test_deleting_all_my_data_removes_plans_and_answers(store: SessionStore) -> None:
    first, second, berits = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    await answer(store, ANNA, first, "q1", "ett", "k1")
    await answer(store, ANNA, first, "q1", "ett, ändrat", "k2")
    await answer(store, ANNA, second, "q1", "två", "k3")
    await answer(store, BERIT, berits, "q1", "Berits svar", "k4")

    snapshot = await store.load(ANNA, "radera")
    await store.commit(snapshot, Changes(user_state={}, delete_user=True), "radera")

    after = await store.load(ANNA, "radera")
    assert after.key_seen  # the confirmation is not applied twice
    assert after.user.version == 0 and after.user.id is None and after.plans == {}
    assert await store.history(first) == []
    assert await store.history(second) == []
    # Someone else's plan is untouched.
    assert current_texts(await store.load(BERIT, "x"), berits) == {"q1": "Berits svar"}
    # Anna can start again from nothing.
    await answer(store, ANNA, uuid.uuid4().hex, "q1", "ny början", "k5")
    assert (await store.load(ANNA, "y")).user.version == 1


async def test_deleting_all_my_data_leaves_no_rows_behind(database: Database) -> None:
    await answer(database.store, ANNA, uuid.uuid4().hex, "q1", "ett", "k1")
    await answer(database.store, ANNA, uuid.uuid4().hex, "q1", "två", "k2")
    snapshot = await database.store.load(ANNA, "radera")
    await database.store.commit(snapshot, Changes(user_state={}, delete_user=True), "radera")
    assert await count_rows(database) == {
        "users": 0,
        "plans": 0,
        "answers": 0,
        "processed_keys": 3,
    }


async def test_deleting_data_of_a_user_never_stored_only_records_the_key(
    store: SessionStore,
) -> None:
    snapshot = await store.load(ANNA, "radera")
    await store.commit(snapshot, Changes(user_state={}, delete_user=True), "radera")
    assert (await store.load(ANNA, "radera")).key_seen


async def test_deleting_from_a_stale_snapshot_conflicts(store: SessionStore) -> None:
    plan_id = uuid.uuid4().hex
    await answer(store, ANNA, plan_id, "q1", "ett", "k1")
    stale = await store.load(ANNA, "radera")
    await answer(store, ANNA, plan_id, "q2", "två", "k2")
    with pytest.raises(VersionConflict):
        await store.commit(stale, Changes(user_state={}, delete_user=True), "radera")
    assert len((await store.load(ANNA, "x")).plans) == 1


async def test_deleting_one_plan_removes_its_answers_and_keeps_the_other(
    store: SessionStore,
) -> None:
    keep, drop = uuid.uuid4().hex, uuid.uuid4().hex
    await answer(store, ANNA, keep, "q1", "behåll", "k1")
    await answer(store, ANNA, drop, "q1", "släng", "k2")
    snapshot = await store.load(ANNA, "k3")
    await store.commit(snapshot, Changes(user_state={}, deleted_plans=[drop]), "k3")
    after = await store.load(ANNA, "k4")
    assert list(after.plans) == [keep]
    assert await store.history(drop) == []
    assert len(await store.history(keep)) == 1


async def test_another_users_plan_cannot_be_deleted_or_answered(database: Database) -> None:
    berits = uuid.uuid4().hex
    await answer(database.store, BERIT, berits, "q1", "Berits svar", "k1")
    await answer(database.store, ANNA, uuid.uuid4().hex, "q1", "Annas svar", "k2")

    anna = await database.store.load(ANNA, "k3")
    await database.store.commit(anna, Changes(user_state={}, deleted_plans=[berits]), "k3")
    anna = await database.store.load(ANNA, "k4")
    with pytest.raises(ValueError, match="not among the user's plans"):
        await database.store.commit(
            anna,
            Changes(user_state={}, answers=[an_answer(berits, "q1", "intrång")]),
            "k4",
        )
    assert [a.value.text for a in await database.store.history(berits)] == ["Berits svar"]


# --------------------------------------------------------------------------- both stores agree


async def test_sql_store_and_memory_store_tell_the_same_story(database: Database) -> None:
    async def session(store: SessionStore) -> list[Any]:
        plan_a, plan_b = "a" * 32, "b" * 32
        seen: list[Any] = []
        await answer(store, ANNA, plan_a, "q1", "ett", "k1")
        await answer(store, ANNA, plan_a, "q2", "två", "k2")
        await answer(store, ANNA, plan_b, "q1", "annan plan", "k3")
        await answer(store, ANNA, plan_a, "q1", "ett, ändrat", "k4")
        await answer(store, BERIT, plan_a.replace("a", "c"), "q1", "Berit", "k5")
        snapshot = await store.load(ANNA, "k6")
        await store.commit(snapshot, Changes(user_state={"x": 1}, deleted_plans=[plan_b]), "k6")
        for user, key in ((ANNA, "k4"), (ANNA, "nytt"), (BERIT, "k5")):
            loaded = await store.load(user, key)
            seen.append(loaded.model_dump(exclude={"user": {"id"}}))
        seen.extend([await store.history(plan_a), await store.history(plan_b)])
        return seen

    assert await session(database.store) == await session(MemoryStore())


# --------------------------------------------------------------------------- schema


def _schema_drift(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_create_the_schema_from_empty(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) >= {
                "users",
                "plans",
                "answers",
                "processed_keys",
                "inbox",
                "alembic_version",
            }
            # The hand-written migration and the models describe the same schema.
            assert await conn.run_sync(_schema_drift) == []
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert revision == [(head,)]
        await upgrade(engine)  # already at head: nothing to do, no error
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_table_names) <= {"alembic_version"}
        await upgrade(engine)
        async with engine.connect() as conn:
            assert "answers" in await conn.run_sync(_table_names)
    finally:
        await engine.dispose()


def test_migrate_helper_prepares_a_database_for_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate(url)

    async def tables() -> set[str]:
        engine = create_async_engine(normalize_url(url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_table_names)
        finally:
            await engine.dispose()

    assert "plans" in asyncio.run(tables())


async def test_sqlite_connections_are_durable_and_enforce_foreign_keys(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        async with db.engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await db.close()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


# --------------------------------------------------------------------------- URLs


def test_default_url_is_a_file_in_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = Path(platformdirs.user_data_dir("planbot")) / "planbot.db"
    assert expected.is_relative_to(tmp_path)

    url = default_database_url()

    assert url == f"sqlite+aiosqlite:///{expected}"
    assert expected.parent.is_dir()


def test_default_url_follows_platformdirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def user_data_dir(appname: str) -> str:
        seen.append(appname)
        return str(tmp_path / "data" / appname)

    monkeypatch.setattr(platformdirs, "user_data_dir", user_data_dir)
    assert default_database_url() == f"sqlite+aiosqlite:///{tmp_path}/data/planbot/planbot.db"
    assert seen == ["planbot"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/plan", "postgresql+asyncpg://u:p@db.example:5432/plan"),
        ("postgresql://u@localhost/plan", "postgresql+asyncpg://u@localhost/plan"),
        ("postgresql+psycopg2://u@localhost/plan", "postgresql+asyncpg://u@localhost/plan"),
        ("postgresql+asyncpg://u@localhost/plan", "postgresql+asyncpg://u@localhost/plan"),
        ("sqlite:///planbot.db", "sqlite+aiosqlite:///planbot.db"),
        ("sqlite:////var/lib/planbot.db", "sqlite+aiosqlite:////var/lib/planbot.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ],
)
def test_database_urls_are_turned_into_their_async_form(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


@pytest.mark.parametrize("given", ["mysql://u@h/db", "planbot.db", ""])
def test_an_unsupported_database_url_says_what_to_write(given: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///"):
        normalize_url(given)


# --------------------------------------------------------------------------- the hot path


class StatementLog:
    """The SQL a store sends while a test runs: SQLite's writer connection traced, or the
    PostgreSQL engine's cursor executions."""

    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        runner = db.store._sqlite  # the raw sqlite3 path, or None on PostgreSQL
        if runner is not None:
            runner._writer_db.set_trace_callback(self.statements.append)
        else:
            event.listen(db.engine.sync_engine, "before_cursor_execute", self._cursor)

    def _cursor(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def matching(self, *words: str) -> list[str]:
        return [s for s in self.statements if all(w in " ".join(s.split()) for w in words)]


async def test_unchanged_user_state_is_not_rewritten_but_the_version_moves(
    database: Database,
) -> None:
    plan_id = uuid.uuid4().hex
    await answer(database.store, ANNA, plan_id, "q1", "ett", "k1")  # sets active_plan
    log = StatementLog(database)
    await answer(database.store, ANNA, plan_id, "q2", "två", "k2")  # same state again

    after = await database.store.load(ANNA, "k3")
    assert after.user.version == 2
    assert after.user.state == {"active_plan": plan_id}
    assert current_texts(after, plan_id) == {"q1": "ett", "q2": "två"}
    if database.engine.dialect.name != "postgresql":
        # (PostgreSQL commits in one statement on asyncpg, past SQLAlchemy's statement log;
        # there `state = CASE WHEN $5 THEN $6 ELSE state END` keeps it.)
        bumps = log.matching("UPDATE users")
        assert len(bumps) == 1 and "state" not in bumps[0].split("WHERE")[0], bumps

    # An unchanged state still takes part in the version check.
    stale = await database.store.load(ANNA, "k4")
    await answer(database.store, ANNA, plan_id, "q3", "tre", "k5")
    with pytest.raises(VersionConflict):
        await database.store.commit(
            stale, answering(stale, stale.plans[plan_id], an_answer(plan_id, "q4", "fyra")), "k4"
        )
    # A changed state is written.
    snapshot = await database.store.load(ANNA, "k6")
    await database.store.commit(snapshot, Changes(user_state={"menu": "x"}), "k6")
    assert (await database.store.load(ANNA, "k7")).user.state == {"menu": "x"}


async def test_a_state_changed_in_place_is_still_written(store: SessionStore) -> None:
    # A step that hands back the snapshot's own dict, changed in place, is not "unchanged".
    await answer(store, ANNA, uuid.uuid4().hex, "q1", "ett", "k1")
    snapshot = await store.load(ANNA, "k2")
    snapshot.user.state["menu"] = {"kind": "resume"}
    await store.commit(snapshot, Changes(user_state=snapshot.user.state), "k2")
    assert (await store.load(ANNA, "k3")).user.state["menu"] == {"kind": "resume"}


async def test_a_conflict_inside_a_group_commit_batch_rolls_back_only_that_commit(
    database: Database,
) -> None:
    carl = UserRef(channel="telegram", external_id="carl")
    plans_of = {ANNA: uuid.uuid4().hex, BERIT: uuid.uuid4().hex, carl: uuid.uuid4().hex}
    for n, (user, plan_id) in enumerate(plans_of.items()):
        await answer(database.store, user, plan_id, "q0", "start", f"k0-{n}")
    anna_one = await database.store.load(ANNA, "anna-1")
    anna_two = await database.store.load(ANNA, "anna-2")  # the same version: will lose
    berit = await database.store.load(BERIT, "berit-1")
    carls = await database.store.load(carl, "carl-1")

    def turn(snapshot: Snapshot, user: UserRef, text: str) -> Changes:
        plan_id = plans_of[user]
        return answering(snapshot, snapshot.plans[plan_id], an_answer(plan_id, "q1", text))

    log = StatementLog(database)
    results = await asyncio.gather(
        database.store.commit(anna_one, turn(anna_one, ANNA, "Anna 1"), "anna-1"),
        database.store.commit(berit, turn(berit, BERIT, "Berit 1"), "berit-1"),
        database.store.commit(anna_two, turn(anna_two, ANNA, "Anna 2"), "anna-2"),
        # answers for a plan that is not Carl's: refused before anything is written
        database.store.commit(
            carls, Changes(user_state={}, answers=[an_answer(plans_of[BERIT], "q9", "x")]), "c"
        ),
        database.store.commit(carls, turn(carls, carl, "Carl 1"), "carl-1"),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == [
        "NoneType",
        "NoneType",
        "VersionConflict",
        "ValueError",
        "NoneType",
    ]
    if database.store._sqlite is not None:  # one transaction, one fsync, for all five
        assert len(log.matching("COMMIT")) == 1, log.statements
        assert len(log.matching("ROLLBACK TO")) == 2, log.statements

    texts = {
        user: current_texts(await database.store.load(user, "x"), plan_id)
        for user, plan_id in plans_of.items()
    }
    assert texts == {
        ANNA: {"q0": "start", "q1": "Anna 1"},
        BERIT: {"q0": "start", "q1": "Berit 1"},
        carl: {"q0": "start", "q1": "Carl 1"},
    }
    assert (await database.store.load(ANNA, "anna-1")).key_seen
    assert not (await database.store.load(ANNA, "anna-2")).key_seen
    assert not (await database.store.load(carl, "c")).key_seen
    assert [a.value.text for a in await database.store.history(plans_of[BERIT])] == [
        "start",
        "Berit 1",
    ]
    assert (await count_rows(database))["answers"] == 6


async def test_a_refused_lone_commit_leaves_nothing_and_the_next_one_commits(
    database: Database,
) -> None:
    plan_id = uuid.uuid4().hex
    await answer(database.store, ANNA, plan_id, "q1", "ett", "k1")
    snapshot = await database.store.load(ANNA, "k2")
    with pytest.raises(ValueError, match="not among the user's plans"):
        await database.store.commit(
            snapshot,
            Changes(
                user_state={"menu": "x"},
                plans={plan_id: snapshot.plans[plan_id].model_copy(update={"title": "Nej"})},
                answers=[an_answer(plan_id, "q2", "två"), an_answer("f" * 32, "q", "x")],
            ),
            "k2",
        )
    await answer(database.store, ANNA, plan_id, "q2", "två", "k2")
    after = await database.store.load(ANNA, "k3")
    assert after.user.version == 2 and after.user.state == {"active_plan": plan_id}
    assert after.plans[plan_id].title == "Läsförståelse åk 4"
    assert len(await database.store.history(plan_id)) == 2


async def test_commits_from_two_event_loops_share_one_sqlite_store(tmp_path: Path) -> None:
    # A second thread with its own event loop: the SQLite writer reports its commits on its
    # own loop. (An asyncpg pool belongs to one loop, so this is SQLite's alone.)
    database = await open_database(f"sqlite:///{tmp_path / 'p.db'}")
    plan_a, plan_b = uuid.uuid4().hex, uuid.uuid4().hex

    async def berits_turns() -> None:
        for i in range(5):
            await answer(database.store, BERIT, plan_b, f"q{i}", f"Berit {i}", f"b{i}")

    try:
        await asyncio.gather(
            asyncio.to_thread(asyncio.run, berits_turns()),
            *(answer(database.store, ANNA, plan_a, f"q{i}", "Anna", f"a{i}") for i in range(5)),
        )
        assert (await database.store.load(ANNA, "x")).user.version == 5
        assert len(current_texts(await database.store.load(BERIT, "x"), plan_b)) == 5
    finally:
        await database.close()


async def test_sqlite_fast_path_and_core_read_each_others_rows(tmp_path: Path) -> None:
    # The raw sqlite3 path stores values the way the models' types do, so SQLAlchemy Core
    # (and so Alembic, the bench, any tool on the engine) reads them back unchanged, and
    # the other way round.
    db = await open_database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        plan = a_plan(state={"cursor": ["steg1", 0], "text": 'åäö \u2013 "citat"'})
        at = dt.datetime(2026, 3, 15, 10, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        given = AnswerRecord(
            plan_id=plan.id,
            path="steg1.period",
            value=AnswerValue(text="ht-26", start=dt.date(2026, 8, 1), items=("a", "ö")),
            created_at=at,
        )
        snapshot = await db.store.load(ANNA, "k1")
        await db.store.commit(snapshot, answering(snapshot, plan, given), "k1")
        async with db.engine.connect() as conn:
            (stored_state,) = (await conn.execute(select(plans.c.state))).one()
            (value, created_at) = (
                await conn.execute(select(answers.c.value, answers.c.created_at))
            ).one()
        assert stored_state == plan.state
        assert AnswerValue.model_validate(value) == given.value
        assert created_at == at and created_at.tzinfo is not None

        # Written through Core (the PostgreSQL path), read through the raw path.
        snapshot = await db.store.load(ANNA, "k2")
        later = an_answer(plan.id, "steg1.mal", "Mål", at=NOW + dt.timedelta(microseconds=7))
        changes = answering(snapshot, snapshot.plans[plan.id], later)
        async with db.engine.begin() as conn:
            await conn.run_sync(repository._core(repository._commit), snapshot, changes, "k2")
        reloaded = await db.store.load(ANNA, "k2")
        assert reloaded.key_seen and reloaded.user.version == 2
        assert reloaded.plans[plan.id].answers == {
            "steg1.period": given.value,
            "steg1.mal": later.value,
        }
        assert reloaded.plans[plan.id].state == plan.state
        assert await db.store.history(plan.id) == [given, later]
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("given", "dsn_query"),
    [
        ("postgresql://u:p@db.example:5432/plan?sslmode=require", "sslmode=require"),
        ("postgres://u@db.example/plan?sslmode=verify-full", "sslmode=verify-full"),
        ("postgresql://u@localhost/plan", ""),
    ],
)
def test_a_hosted_database_url_with_sslmode_reaches_asyncpg_as_sslmode(
    given: str, dsn_query: str
) -> None:
    """Hosting providers hand out ?sslmode=require: SQLAlchemy's asyncpg dialect wants ?ssl=,
    asyncpg's own DSN (the fast PostgreSQL turns) sslmode, or every turn is refused."""
    from storage.db import normalize_url
    from storage.repository import asyncpg_dsn

    dsn = asyncpg_dsn(make_url(normalize_url(given)))
    assert dsn.startswith("postgresql://")
    assert dsn.partition("?")[2] == dsn_query


async def test_answers_are_stored_on_postgresql_reached_with_sslmode(
    postgres_database: str,
) -> None:
    """The URL as a provider writes it, ?sslmode=… (prefer: the local server has no TLS),
    through the fast PostgreSQL turns: the answers are stored."""
    from dialogs.service import Conversation
    from dialogs.template import load_templates
    from exports.docx import render_document
    from storage.db import open_database
    from tests.helpers import Teacher

    url = await _empty_postgres(postgres_database)
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    db = await open_database(plain + "?sslmode=prefer")
    try:
        teacher = Teacher(Conversation(db.store, load_templates(), render_document))
        await teacher.start()
        await teacher.press("Handlingsplan")
        await teacher.say("Närvarolyftet")
        await teacher.say("Ringsjöskolan")  # a later turn: the one-statement path
        snapshot = await db.store.load(teacher.user, key="")
        [plan] = snapshot.plans.values()
        assert plan.answers["enhet"].text == "Ringsjöskolan"
    finally:
        await db.close()
