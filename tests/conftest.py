"""Fixtures shared by the tests: an in-memory store, a settable clock, and the whole app
(settings → SQLite file → engine → .docx) against a temporary database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Runtime, start_runtime
from bot.settings import Settings
from dialogs.store import MemoryStore
from tests.helpers import Clock

# Test modules import helpers from these fixture modules as well as loading them as plugins:
# let pytest rewrite their asserts before the first import.
pytest.register_assert_rewrite("tests.e2e.telegram_fixtures")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await start_runtime(settings)
    yield runtime
    await runtime.close()


# The slow part of the suite: a real database (SQLite file, PostgreSQL), a bot library against
# its emulator, a subprocess, or the fuzzer. `pytest -m "not slow"` runs the fast core alone.
SLOW_MODULES = (
    "tests/e2e/",
    "tests/faults/",
    "tests/test_storage.py",
    "tests/test_app.py",
    "tests/test_console_e2e.py",
    "tests/test_console_terminal.py",
    "tests/test_engine_fuzz.py",
    "tests/test_bad_config.py",
    "tests/test_packaging.py",
    "tests/test_export_choice.py",
    "tests/test_datarights.py",
    "tests/test_reminders.py",
    "tests/test_reminder_buttons.py",
    "tests/test_document_pages.py",
    "tests/test_ordering.py",
    "tests/test_radera_everything.py",
    "tests/test_turn_log.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.as_posix()
        if any(f"/{slow}" in path for slow in SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
