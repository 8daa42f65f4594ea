"""The teacher's data rights on a real database: the zip of everything stored about them,
deletion by the admin, an answer with personal data rewritten without a trace, retention."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import pytest
from sqlalchemy import update

from bot.datarights import Due, delete_user, export_zip, retention_pass
from dialogs.service import Conversation
from dialogs.template import load_templates
from exports.docx import render_document
from storage.db import Database, open_database
from storage.models import plans
from tests.helpers import Teacher
from tests.test_storage import (
    _admin,
    _empty_postgres,
    postgres_database,  # noqa: F401  (a fixture)
)

TEMPLATES = load_templates()
PERSONNUMMER = "19121212-1212"
PLANBOT = Path(sys.executable).with_name("planbot")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(f"sqlite:///{tmp_path / 'planbot.db'}")
    yield db
    await db.close()


def teacher_on(db: Database, name: str = "anna") -> Teacher:
    conversation = Conversation(db.store, TEMPLATES, render_document)
    teacher = Teacher(conversation)
    teacher.user = teacher.user.model_copy(update={"external_id": name})
    return teacher


def dump(path: Path) -> str:
    """Every row of every table, as text: what a forensic look at the data would find."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            repr(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')
        )


async def test_the_zip_holds_every_answer_ever_given_and_documents_that_open(
    database: Database,
) -> None:
    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say("Närvaro i åk 7")
    await teacher.say("/tillbaka")
    await teacher.say("Närvaro och trivsel i åk 7")  # the title, rewritten
    await teacher.say("Ringsjöskolan")
    await teacher.say("/ny")
    await teacher.press("Åtgärdsplan")
    await teacher.say("Läsförståelse")

    document = await export_zip(database.store, teacher.user, TEMPLATES, engine=database.engine)
    assert document is not None and document.filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(document.data))
    data = json.loads(archive.read("planbot-data.json"))
    assert data["user"]["external_id"] == "anna"
    history = [h["value"]["text"] for plan in data["plans"] for h in plan["history"]]
    for answer in (
        "Närvaro i åk 7",
        "Närvaro och trivsel i åk 7",
        "Ringsjöskolan",
        "Läsförståelse",
    ):
        assert answer in history
    documents = [n for n in archive.namelist() if n.endswith(".docx")]
    assert len(documents) == len(data["plans"]) == 2
    for name in documents:
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(archive.read(name))).paragraphs)
        assert "UTKAST" in text.upper()

    assert (
        await export_zip(
            database.store, teacher.user.model_copy(update={"external_id": "ingen"}), TEMPLATES
        )
        is None
    )


async def test_personal_data_kept_then_rewritten_leaves_no_trace(
    database: Database, tmp_path: Path
) -> None:
    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say(f"Elev {PERSONNUMMER}")
    assert "personuppgifter" in teacher.text().lower()
    await teacher.press("Behåll ändå")
    assert PERSONNUMMER in dump(tmp_path / "planbot.db")  # kept, as the teacher chose

    await teacher.say("/tillbaka")
    await teacher.say("Närvaro i åk 7")
    assert PERSONNUMMER not in dump(tmp_path / "planbot.db")
    document = await export_zip(database.store, teacher.user, TEMPLATES)
    assert document is not None and PERSONNUMMER.encode() not in document.data


async def test_personal_data_rephrased_at_once_leaves_no_trace(
    database: Database, tmp_path: Path
) -> None:
    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say(f"Elev {PERSONNUMMER}")
    await teacher.press("Skriv om")
    await teacher.say("Närvaro i åk 7")
    assert PERSONNUMMER not in dump(tmp_path / "planbot.db")


@pytest.mark.parametrize("command", ["/paus", "/ny", "/planer", "/andra", "/tillbaka", "/radera"])
async def test_personal_data_left_with_a_command_leaves_no_trace(
    database: Database, tmp_path: Path, command: str
) -> None:
    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say(f"Elev {PERSONNUMMER}")
    assert "personuppgifter" in teacher.text().lower()
    assert PERSONNUMMER in dump(tmp_path / "planbot.db")  # held in the plan while it is asked
    await teacher.say(command)
    assert PERSONNUMMER not in dump(tmp_path / "planbot.db")
    assert "personuppgifter" not in teacher.text().lower()  # the warning is over


async def test_personal_data_with_an_answer_that_fails_validation_leaves_no_trace(
    database: Database, tmp_path: Path
) -> None:
    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    heading = teacher.question.heading
    await teacher.say(f"Elev {PERSONNUMMER}")
    await teacher.say("x")  # too short for the plan's name: refused, and asked again
    assert teacher.question.heading == heading and "x" not in teacher.replies[-1].text.split()
    assert PERSONNUMMER not in dump(tmp_path / "planbot.db")
    await teacher.say("Närvaro i åk 7")
    assert PERSONNUMMER not in dump(tmp_path / "planbot.db")
    assert "Närvaro i åk 7" in dump(tmp_path / "planbot.db")


async def test_personal_data_left_for_another_plan_leaves_no_trace(
    database: Database, tmp_path: Path
) -> None:
    """Slack's App Home opens a plan by its own button, past any open question."""
    from dialogs import buttons
    from dialogs.types import InboundKind

    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say("Närvaro i åk 7")
    first = (await database.store.load(teacher.user, key="")).user.state["active"]
    await teacher.say("/ny")
    await teacher.press("Åtgärdsplan")
    await teacher.say(f"Elev {PERSONNUMMER}")
    assert PERSONNUMMER in dump(tmp_path / "planbot.db")
    assert isinstance(first, str)
    opened = buttons.plan_action(buttons.OPEN_PLAN, first)
    await teacher.send(teacher.inbound(InboundKind.CHOICE, choice=opened))
    assert PERSONNUMMER not in dump(tmp_path / "planbot.db")


async def test_mina_uppgifter_sends_the_zip_of_this_very_turn(tmp_path: Path) -> None:
    from bot.app import start_runtime
    from bot.settings import Settings

    runtime = await start_runtime(
        Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", _env_file=None)  # type: ignore[call-arg]
    )
    try:
        teacher = Teacher(runtime.conversation)
        await teacher.start()
        await teacher.say("mina uppgifter")  # the bare words, as in Slack: nothing stored yet
        assert "Det finns inget sparat om dig." in teacher.text()
        assert not teacher.documents()
        await teacher.say("/ny")
        await teacher.press("Handlingsplan")
        await teacher.say("Närvaro i åk 7")
        await teacher.say("/tillbaka")
        await teacher.say("Närvaro och trivsel i åk 7")
        heading = teacher.question.heading
        for command in ("/mina-uppgifter", "/mina_uppgifter", "Mina uppgifter"):
            outs = await teacher.say(command)
            [sent] = [o for o in outs if o.document is not None]
            assert sent.text.startswith("Här är allt som sparats om dig")
            assert sent.document is not None and sent.document.filename.endswith(".zip")
            archive = zipfile.ZipFile(io.BytesIO(sent.document.data))
            data = json.loads(archive.read("planbot-data.json"))
            history = [h["value"]["text"] for plan in data["plans"] for h in plan["history"]]
            assert {"Närvaro i åk 7", "Närvaro och trivsel i åk 7"} <= set(history)
            assert teacher.question.heading == heading  # and the plan goes on
    finally:
        await runtime.close()


async def test_the_admin_deletes_a_teacher_and_only_that_teacher(
    database: Database, tmp_path: Path
) -> None:
    anna, bo = teacher_on(database, "anna"), teacher_on(database, "bo")
    for teacher in (anna, bo):
        await teacher.start()
        await teacher.press("Handlingsplan")
        await teacher.say(f"Plan av {teacher.user.external_id}")
    assert await delete_user(database.store, anna.user, engine=database.engine)
    text = dump(tmp_path / "planbot.db")
    assert "Plan av anna" not in text and "'anna'" not in text
    assert "Plan av bo" in text
    assert not await delete_user(database.store, anna.user, engine=database.engine)


async def test_retention_tells_first_and_deletes_after_the_notice(database: Database) -> None:
    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say("Gammal plan")
    now = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    async with database.engine.begin() as conn:
        await conn.execute(
            update(plans).values(status="klar", updated_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
        )
    told: list[Due] = []

    async def tell(due: Due, deleted_on: dt.datetime) -> bool:
        told.append(due)
        return True

    # Untouched 9 months, retention 12: nothing yet.
    assert await retention_pass(database.engine, months=12, notice_days=14, tell=tell, now=now) == (
        0,
        0,
    )
    # Retention 6: told now, deleted 14 days later (not before).
    assert await retention_pass(database.engine, months=6, notice_days=14, tell=tell, now=now) == (
        1,
        0,
    )
    assert [d.title for d in told] == ["Gammal plan"] and told[0].user.external_id == "anna"
    assert await retention_pass(
        database.engine, months=6, notice_days=14, tell=tell, now=now + dt.timedelta(days=13)
    ) == (0, 0)
    assert await retention_pass(
        database.engine, months=6, notice_days=14, tell=tell, now=now + dt.timedelta(days=14)
    ) == (0, 1)
    snapshot = await database.store.load(teacher.user, key="")
    assert snapshot.plans == {}


async def test_a_teacher_who_could_not_be_told_keeps_the_plan(database: Database) -> None:
    teacher = teacher_on(database)
    await teacher.start()
    await teacher.press("Handlingsplan")
    await teacher.say("Gammal plan")
    async with database.engine.begin() as conn:
        await conn.execute(
            update(plans).values(status="klar", updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )

    async def cannot(due: Due, deleted_on: dt.datetime) -> bool:
        return False

    for days in (0, 30, 365):
        when = dt.datetime(2027, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=days)
        assert await retention_pass(
            database.engine, months=6, notice_days=14, tell=cannot, now=when
        ) == (0, 0)


def test_admin_commands_export_and_delete(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANBOT_")}
    env.update(HOME=str(tmp_path), PLANBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}")

    def planbot(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PLANBOT), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    assert planbot("chat", "--user", "cecilia", stdin="1\nMin plan\n").returncode == 0
    exported = planbot(
        "admin", "export-user", "--channel", "console", "--user", "cecilia", "--out", "cecilia.zip"
    )
    assert exported.returncode == 0, exported.stderr
    data = json.loads(zipfile.ZipFile(tmp_path / "cecilia.zip").read("planbot-data.json"))
    assert data["plans"][0]["title"] == "Min plan"
    refused = planbot("admin", "delete-user", "--channel", "console", "--user", "cecilia")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    deleted = planbot("admin", "delete-user", "--channel", "console", "--user", "cecilia", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "Min plan" not in dump(tmp_path / "p.db")


async def test_the_runtime_hands_the_conversation_its_data_export(tmp_path: Path) -> None:
    """What /mina-uppgifter will send: the service's data_export, wired by start_runtime."""
    from bot.app import start_runtime
    from bot.settings import Settings

    runtime = await start_runtime(
        Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}", _env_file=None)  # type: ignore[call-arg]
    )
    try:
        teacher = Teacher(runtime.conversation)
        await teacher.start()
        await teacher.press("Handlingsplan")
        await teacher.say("Min plan")
        assert runtime.conversation.data_export is not None
        document = await runtime.conversation.data_export(teacher.user)
        assert document is not None
        data = json.loads(zipfile.ZipFile(io.BytesIO(document.data)).read("planbot-data.json"))
        assert [p["title"] for p in data["plans"]] == ["Min plan"]
    finally:
        await runtime.close()


async def test_personal_data_rewritten_leaves_no_trace_on_postgresql(
    postgres_database: str,  # noqa: F811  (the fixture imported above)
) -> None:
    """PostgreSQL commits an everyday answer in one statement of its own; the answer that
    replaces one holding personal data must still take its history with it."""
    url = await _empty_postgres(postgres_database)
    db = await open_database(url)
    try:
        teacher = teacher_on(db)
        await teacher.start()
        await teacher.press("Handlingsplan")
        await teacher.say("Närvaro")  # the teacher's row exists: later turns take the fast path
        await teacher.say("/tillbaka")
        await teacher.say(f"Elev {PERSONNUMMER}")
        await teacher.press("Behåll ändå")
        assert PERSONNUMMER in await pg_dump_text(url)  # kept, as the teacher chose

        await teacher.say("/tillbaka")
        await teacher.say("Närvaro i åk 7")
        assert PERSONNUMMER not in await pg_dump_text(url)
    finally:
        await db.close()


async def pg_dump_text(url: str) -> str:
    """Every row of every table in the public schema, as text."""
    conn = await _admin(url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        found: list[str] = []
        for row in tables:
            rows = await conn.fetch(f'SELECT * FROM "{row["tablename"]}"')
            found.extend(repr(tuple(r.values())) for r in rows)
        return "\n".join(found)
    finally:
        await conn.close()
