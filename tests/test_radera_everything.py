"""/radera → "Radera alla mina uppgifter" leaves no row of that teacher in any table, on SQLite
and on PostgreSQL: users, plans, answers (the whole history), the idempotency keys' link to the
teacher, reminders and the admission (members). Another teacher's rows stay."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, select

from bot.app import Runtime, start_runtime
from bot.settings import Settings
from dialogs.types import UserRef
from storage.access import AccessStore, members
from storage.models import answers, plans, processed_keys, reminders, users
from tests.helpers import Teacher
from tests.test_storage import database_url, postgres_database  # noqa: F401 (fixtures)

ANNA = UserRef(channel="telegram", external_id="4711", display_name="Anna Lind")
BO = UserRef(channel="telegram", external_id="4712", display_name="Bo Ek")


async def fill_in(runtime: Runtime, user: UserRef, name: str) -> Teacher:
    code = (await AccessStore(runtime.database.engine).invite("Sjöviks kommun")).code
    assert await AccessStore(runtime.database.engine).redeem(code, user.channel, user.external_id)
    teacher = Teacher(runtime.conversation, user=user)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say(f"Närvaro hos {name}")
    await teacher.say("/tillbaka")
    await teacher.say(f"Närvaro och trivsel hos {name}")  # history: two versions
    await teacher.say(f"{name}skolan")
    await teacher.say("ht-26 – vt-27")
    return teacher


async def everything(runtime: Runtime) -> str:
    """Every row of every table in the database, as text."""
    metadata = MetaData()
    async with runtime.database.engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        rows: list[str] = []
        for table in metadata.sorted_tables:
            rows.extend(repr(tuple(r)) for r in (await conn.execute(select(table))).all())
    return "\n".join(rows)


async def rows_of(runtime: Runtime, user_id: int, plan_ids: list[str]) -> dict[str, int]:
    queries: dict[str, Any] = {
        "users": select(users).where(users.c.id == user_id),
        "users by id": select(users).where(
            users.c.channel == ANNA.channel, users.c.external_id == ANNA.external_id
        ),
        "plans": select(plans).where((plans.c.user_id == user_id) | plans.c.id.in_(plan_ids)),
        "answers": select(answers).where(answers.c.plan_id.in_(plan_ids)),
        "processed_keys": select(processed_keys).where(processed_keys.c.user_id == user_id),
        "reminders": select(reminders).where(
            (reminders.c.user_id == user_id) | reminders.c.plan_id.in_(plan_ids)
        ),
        "members": select(members).where(
            members.c.channel == ANNA.channel, members.c.external_id == ANNA.external_id
        ),
    }
    async with runtime.database.engine.connect() as conn:
        return {name: len((await conn.execute(q)).all()) for name, q in queries.items()}


async def test_radera_all_leaves_no_row_of_the_teacher(database_url: str) -> None:  # noqa: F811
    runtime = await start_runtime(
        Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    )
    try:
        anna = await fill_in(runtime, ANNA, "Anna")
        await fill_in(runtime, BO, "Bo")
        snapshot = await runtime.database.store.load(ANNA, key="")
        assert snapshot.user.id is not None
        user_id, plan_ids = snapshot.user.id, list(snapshot.plans)
        before = await rows_of(runtime, user_id, plan_ids)
        assert all(before.values()), before  # every table holds something of Anna's

        await anna.say("/radera")
        await anna.press("Radera alla mina uppgifter")
        await anna.press("Ja, radera")
        assert "Alla dina uppgifter är borttagna" in anna.text()

        after = await rows_of(runtime, user_id, plan_ids)
        assert set(after.values()) == {0}, after
        text = await everything(runtime)
        for trace in (
            "Närvaro hos Anna",
            "Närvaro och trivsel hos Anna",
            "Annaskolan",
            "Anna Lind",
        ):
            assert trace not in text
        assert "'4711'" not in text
        # Bo is untouched.
        for kept in ("Närvaro och trivsel hos Bo", "Boskolan", "'4712'"):
            assert kept in text
    finally:
        await runtime.close()
