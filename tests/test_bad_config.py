"""A school's IT admin with a bad configuration: every command says what is wrong in one line
on stderr and exits with code 2 — never a traceback, never a silent fallback.

Each case runs the installed `planbot` command as a subprocess in an empty folder (no .env,
no checkout), with only the environment the case sets.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from dialogs.template import PROMPTS_DIR
from tests.e2e.slack_fake import APP_TOKEN, BOT_TOKEN, SlackFake
from tests.e2e.telegram_emulator import TelegramEmulator

PLANBOT = Path(sys.executable).with_name("planbot")
PG = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Case:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    # Prepares the folder (tmp) and may add to env; returns nothing.
    setup: Callable[[Path, dict[str, str]], None] | None = None
    # A word or two the one line must contain (the admin must learn what to fix).
    says: str = ""


def prompts_copy(tmp: Path) -> Path:
    target = tmp / "prompts"
    shutil.copytree(PROMPTS_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def broken_jinja(tmp: Path, env: dict[str, str]) -> None:
    folder = prompts_copy(tmp)
    path = folder / "messages" / "bot.sv.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("console.bye: Hej då!", "console.bye: Hej {% if x %}då!"), encoding="utf-8"
    )
    env["PLANBOT_PROMPTS_DIR"] = str(folder)


def unknown_filter(tmp: Path, env: dict[str, str]) -> None:
    folder = prompts_copy(tmp)
    path = folder / "messages" / "telegram.sv.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "telegram.choose: Välj ett alternativ.", "telegram.choose: '{{ x | bogus }}'"
        ),
        encoding="utf-8",
    )
    env["PLANBOT_PROMPTS_DIR"] = str(folder)


def broken_yaml(tmp: Path, env: dict[str, str]) -> None:
    folder = prompts_copy(tmp)
    (folder / "messages" / "export.sv.yaml").write_text("a: [unclosed\n", encoding="utf-8")
    env["PLANBOT_PROMPTS_DIR"] = str(folder)


def missing_text(tmp: Path, env: dict[str, str]) -> None:
    folder = prompts_copy(tmp)
    (folder / "messages" / "telegram.sv.yaml").unlink()
    env["PLANBOT_PROMPTS_DIR"] = str(folder)


def broken_template(tmp: Path, env: dict[str, str]) -> None:
    folder = prompts_copy(tmp)
    path = folder / "handlingsplan.sv.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("id: handlingsplan", "ident: x", 1),
        encoding="utf-8",
    )
    env["PLANBOT_PROMPTS_DIR"] = str(folder)


def no_templates(tmp: Path, env: dict[str, str]) -> None:
    folder = tmp / "tom"
    shutil.copytree(PROMPTS_DIR / "messages", folder / "messages")
    env["PLANBOT_PROMPTS_DIR"] = str(folder)


def foreign_sqlite(tmp: Path, env: dict[str, str]) -> None:
    path = tmp / "annan.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE elever (namn TEXT)")
    env["PLANBOT_DATABASE_URL"] = f"sqlite:///{path}"


def future_sqlite(tmp: Path, env: dict[str, str]) -> None:
    path = tmp / "framtid.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('9999_framtid')")
    env["PLANBOT_DATABASE_URL"] = f"sqlite:///{path}"


def not_a_database(tmp: Path, env: dict[str, str]) -> None:
    path = tmp / "text.db"
    path.write_text("det här är ingen databas\n" * 100, encoding="utf-8")
    env["PLANBOT_DATABASE_URL"] = f"sqlite:///{path}"


def env_file_typo(tmp: Path, env: dict[str, str]) -> None:
    (tmp / ".env").write_text("PLANBOT_TELEGRAM_TOKN=123:abc\n", encoding="utf-8")


def a_file(tmp: Path, env: dict[str, str]) -> None:
    (tmp / "fil").write_text("x", encoding="utf-8")


def full_disk(tmp: Path, env: dict[str, str]) -> None:
    env["PLANBOT_DATABASE_URL"] = f"sqlite:///{tmp / 'full' / 'planbot.db'}"


CASES = [
    Case(
        "typo in a setting's name",
        ["check"],
        {"PLANBOT_DATABSE_URL": "sqlite:///x.db"},
        says="PLANBOT_DATABASE_URL",
    ),
    Case(
        "typo in a setting's name, chat",
        ["chat"],
        {"PLANBOT_PROMTS_DIR": "/tmp"},
        says="PLANBOT_PROMPTS_DIR",
    ),
    Case("typo in .env", ["check"], setup=env_file_typo, says="PLANBOT_TELEGRAM_TOKEN"),
    Case(
        "typo in a reminder setting's name",
        ["check"],
        {"PLANBOT_REMIND_OPEN": "09:00"},
        says="PLANBOT_REMIND_OPENS",
    ),
    Case(
        "PostgreSQL on a wrong port",
        ["chat"],
        {"PLANBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:5499/test"},
        says="5499",
    ),
    Case(
        "PostgreSQL host that does not exist",
        ["check"],
        {"PLANBOT_DATABASE_URL": "postgresql://postgres@db.invalid/test"},
        says="db.invalid",
    ),
    Case(
        "PostgreSQL database that does not exist",
        ["migrate"],
        {"PLANBOT_DATABASE_URL": PG + "_finns_inte"},
        says="test_finns_inte",
    ),
    Case(
        "a database the bot does not speak",
        ["check"],
        {"PLANBOT_DATABASE_URL": "mysql://skolan/planbot"},
        says="mysql",
    ),
    Case("not a URL at all", ["chat"], {"PLANBOT_DATABASE_URL": "planbot.db"}, says="planbot.db"),
    Case(
        "--db in a folder that does not exist",
        ["chat", "--db", "/finns/inte/planbot.db"],
        says="finns inte",
    ),
    Case("--db that is a folder", ["chat", "--db", "."], says="Databasen"),
    Case("SQLite file of another program", ["check"], setup=foreign_sqlite, says="schemaversion"),
    Case("database from a newer planbot", ["chat"], setup=future_sqlite, says="9999_framtid"),
    Case("a text file as the database", ["check"], setup=not_a_database, says="Databasen"),
    Case("full disk", ["chat"], setup=full_disk, says="full"),
    Case(
        "SQLite without a file (all lost at stop)",
        ["check"],
        {"PLANBOT_DATABASE_URL": "sqlite:///"},
        says="ingen fil",
    ),
    Case("a language without texts", ["check"], {"PLANBOT_LANGUAGE": "en"}, says="en.yaml"),
    Case(
        "export folder that is a file",
        ["check"],
        {"PLANBOT_EXPORT_DIR": "/etc/passwd"},
        says="/etc/passwd",
    ),
    Case(
        "prompts folder that does not exist",
        ["templates"],
        {"PLANBOT_PROMPTS_DIR": "/finns/inte"},
        says="/finns/inte",
    ),
    Case("broken Jinja in a custom text", ["chat"], setup=broken_jinja, says="console.bye"),
    Case(
        "unknown filter in a custom text", ["check"], setup=unknown_filter, says="telegram.choose"
    ),
    Case("broken YAML in custom texts", ["chat"], setup=broken_yaml, says="export.sv.yaml"),
    Case("a text missing from custom texts", ["check"], setup=missing_text, says="saknas"),
    Case("broken plan template", ["templates"], setup=broken_template, says="handlingsplan"),
    Case("no plan templates", ["check"], setup=no_templates, says="planmallar"),
    Case("--out below a file", ["chat", "--out", "fil/dokument"], setup=a_file, says="fil"),
    Case("bad log format", ["check"], {"PLANBOT_LOG_FORMAT": "xml"}, says="PLANBOT_LOG_FORMAT"),
    Case(
        "negative retention",
        ["check"],
        {"PLANBOT_RETENTION_MONTHS": "-1"},
        says="PLANBOT_RETENTION_MONTHS",
    ),
    Case("unknown access mode", ["chat"], {"PLANBOT_ACCESS": "stängd"}, says="PLANBOT_ACCESS"),
    Case("Telegram without a token", ["telegram"], says="PLANBOT_TELEGRAM_TOKEN"),
    Case(
        "Telegram API unreachable",
        ["check", "telegram"],
        {"PLANBOT_TELEGRAM_TOKEN": "1:x", "PLANBOT_TELEGRAM_API_URL": "http://127.0.0.1:9/bot"},
        says="127.0.0.1:9",
    ),
    Case(
        "a webhook URL that is not a URL",
        ["telegram", "--webhook-url", "planbot.skolan.se"],
        says="--webhook-url",
    ),
    Case("a port out of range", ["slack", "--http", "--port", "99999"], says="99999"),
    Case("Slack without a bot token", ["slack"], says="SLACK_BOT_TOKEN"),
    Case(
        "Slack app token of the wrong kind",
        ["slack"],
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
        says="xapp-",
    ),
    Case(
        "Slack HTTP mode without a signing secret",
        ["slack", "--http"],
        {"SLACK_BOT_TOKEN": "xoxb-1"},
        says="SLACK_SIGNING_SECRET",
    ),
    Case(
        "Slack API unreachable",
        ["slack"],
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
            "PLANBOT_SLACK_API_URL": "http://127.0.0.1:9/api/",
        },
        says="Slack",
    ),
]


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    work = tmp_path / "work"
    work.mkdir()
    yield work
    if (work / "full").is_mount():
        subprocess.run(["umount", str(work / "full")], check=True)


def clean_env(tmp: Path) -> dict[str, str]:
    keep = {"PATH", "LANG", "LC_ALL", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(tmp), XDG_DATA_HOME=str(tmp / "data"), PYTHONUNBUFFERED="1")
    return env


async def run_planbot(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(PLANBOT),
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


def assert_one_line(code: int, err: str, says: str) -> None:
    assert "Traceback" not in err, err
    assert code == 2, (code, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert says.lower() in lines[0].lower(), lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_bad_configuration_is_one_line_and_exit_2(case: Case, folder: Path) -> None:
    env = clean_env(folder)
    if case.setup is full_disk:
        (folder / "full").mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder / "full")], check=True
        )
    if case.setup is not None:
        case.setup(folder, env)
    env.update(case.env)
    code, err = await run_planbot(case.args, env, folder)
    assert_one_line(code, err, case.says)


@pytest_asyncio.fixture
async def telegram_api() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        yield emulator


async def test_a_telegram_token_telegram_rejects(
    telegram_api: TelegramEmulator, folder: Path
) -> None:
    env = clean_env(folder)
    env.update(
        PLANBOT_TELEGRAM_TOKEN="999:wrong-token",
        PLANBOT_TELEGRAM_API_URL=telegram_api.base_url,
        PLANBOT_TELEGRAM_FILE_URL=telegram_api.base_file_url,
    )
    for args in (["telegram"], ["check", "telegram"]):
        code, err = await run_planbot(args, env, folder)
        assert_one_line(code, err, "godkände inte")


async def test_a_slack_token_slack_rejects(folder: Path) -> None:
    async with SlackFake() as fake:
        env = clean_env(folder)
        env.update(
            SLACK_BOT_TOKEN="xoxb-wrong",
            SLACK_APP_TOKEN=APP_TOKEN,
            PLANBOT_SLACK_API_URL=fake.api_url,
        )
        for args in (["slack"], ["check", "slack"]):
            code, err = await run_planbot(args, env, folder)
            assert_one_line(code, err, "invalid_auth")


async def test_a_good_configuration_checks_out(folder: Path) -> None:
    """The same command with nothing wrong: exit 0, what was checked on stdout."""
    env = clean_env(folder)
    env["PLANBOT_DATABASE_URL"] = f"sqlite:///{folder / 'planbot.db'}"
    env["PLANBOT_REMIND_OPENS"] = "09:00"  # the reminders' own settings are known names
    process = await asyncio.create_subprocess_exec(
        str(PLANBOT),
        "check",
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert err == b""
    assert "Databas" in out.decode() and "3 mallar" in out.decode()


CORE_ONLY = (
    "import sys\n"
    "for name in ('telegram', 'slack_sdk', 'slack_bolt', 'aiohttp', 'asyncpg', 'tornado'):\n"
    "    sys.modules[name] = None  # as if installed without any extra\n"
    "from bot.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["telegram"], "planbot[telegram]"),
        (["slack"], "planbot[slack]"),
        (["check", "slack"], "planbot[slack]"),
    ],
)
async def test_a_channel_without_its_extra_names_the_extra(
    folder: Path, args: list[str], says: str
) -> None:
    env = clean_env(folder)
    env.update(PLANBOT_TELEGRAM_TOKEN="1:x", SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CORE_ONLY,
        *args,
        env=env,
        cwd=folder,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode is not None
    assert_one_line(process.returncode, err.decode(), says)


async def test_the_terminal_channel_needs_no_extra(folder: Path) -> None:
    env = clean_env(folder)
    env["PLANBOT_DATABASE_URL"] = f"sqlite:///{folder / 'p.db'}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CORE_ONLY,
        "chat",
        "--out",
        str(folder),
        env=env,
        cwd=folder,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate("1\nNärvaro\n/exportera\n".encode())
    assert process.returncode == 0, err.decode()
    assert list(folder.glob("*.docx")), out.decode()


async def test_a_port_already_in_use(folder: Path) -> None:
    async with SlackFake() as fake:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            env = clean_env(folder)
            env.update(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET="hemlig",
                PLANBOT_SLACK_API_URL=fake.api_url,
                PLANBOT_DATABASE_URL=f"sqlite:///{folder / 'p.db'}",
            )
            code, err = await run_planbot(
                ["slack", "--http", "--listen", "127.0.0.1", "--port", str(port)], env, folder
            )
            assert_one_line(code, err, str(port))
