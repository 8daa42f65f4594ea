"""The operator's log: one line per turn, the same fields for every channel, never the
teacher's text; a turn that fails (a full disk) is one line, and the teacher hears why."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.console import Console
from bot.logging_setup import JsonFormatter, pseudonym, turn_logger
from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import load_templates
from dialogs.types import Changes, Snapshot, UserRef
from exports.docx import render_document

SECRET_ANSWER = "Närvaro för Kalle i 7B"


class FillingDisk(MemoryStore):
    """Commits work until the disk is full."""

    def __init__(self, commits_before_full: int) -> None:
        super().__init__()
        self.left = commits_before_full

    async def commit(self, snapshot: Snapshot, changes: Changes, key: str) -> None:
        if self.left <= 0:
            raise sqlite3.OperationalError("database or disk is full")
        self.left -= 1
        await super().commit(snapshot, changes, key)


def run_console(store: MemoryStore, lines: str, caplog: pytest.LogCaptureFixture) -> str:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    conversation = Conversation(
        store, load_templates(), render_document, on_turn=turn_logger(settings)
    )
    out = io.StringIO()
    console = Console(
        conversation,
        Messages.load(),
        user="anna",
        export_dir=Path("."),
        stdin=io.StringIO(lines),
        stdout=out,
    )
    with caplog.at_level(logging.INFO, logger="planbot.turn"), asyncio.Runner() as runner:
        assert console.run(runner) == 0
    return out.getvalue()


def test_one_line_per_turn_without_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    run_console(MemoryStore(), f"1\n{SECRET_ANSWER}\n", caplog)
    turns = [r for r in caplog.records if r.name == "planbot.turn"]
    assert [r.__dict__["event"] for r in turns] == ["start", "choice", "text"]
    user = pseudonym(UserRef(channel="console", external_id="anna"))
    for record in turns:
        data = json.loads(JsonFormatter().format(record))
        assert {"channel", "user", "plan", "event", "outcome", "duration_ms"} <= data.keys()
        assert data["channel"] == "console" and data["user"] == user
        assert data["outcome"] == "ok" and data["duration_ms"] >= 0
        assert "anna" not in json.dumps(data) and "Kalle" not in json.dumps(data)
    assert turns[-1].__dict__["plan"]  # a plan was open


def test_a_full_disk_is_one_log_line_and_a_swedish_reply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    output = run_console(FillingDisk(commits_before_full=2), f"1\n{SECRET_ANSWER}\n", caplog)
    assert "Förlåt, något gick fel hos mig" in output
    assert "Det du svarat tidigare är sparat" in output
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "disk is full" in errors[0].getMessage()
    assert SECRET_ANSWER not in errors[0].getMessage()


def test_a_failure_is_kept_as_its_type_and_first_line_not_the_text_it_quotes() -> None:
    """What the log and the inbox's last_error keep of a failing update: a validation error's
    later lines quote the input (a teacher's answer), its first line does not."""
    from bot.logging_setup import error_line

    exc = ValueError(f"1 validation error for Answer\n  input_value='{SECRET_ANSWER}'")
    assert error_line(exc) == "ValueError: 1 validation error for Answer"
    assert SECRET_ANSWER not in error_line(exc)
    assert error_line(RuntimeError()) == "RuntimeError"
