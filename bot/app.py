"""Wiring: settings → database (storage/) → Conversation (dialogs/) with the .docx renderer
(exports/). Every channel starts from `start_runtime` and ends with `Runtime.close`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from bot import texts
from bot.access import Gate
from bot.datarights import export_zip
from bot.logging_setup import turn_logger
from bot.reminders import Reminders, ReminderSettings
from bot.settings import Settings
from dialogs.reminders import ReminderRules
from dialogs.service import Conversation
from exports.docx import Renderer
from storage.access import AccessStore
from storage.db import Database, default_database_url, open_database
from storage.reminders import ReminderStore


@dataclass
class Runtime:
    settings: Settings
    database: Database
    conversation: Conversation
    gate: Gate
    reminders: Reminders | None = None

    async def close(self) -> None:
        await self.database.close()


async def start_runtime(settings: Settings) -> Runtime:
    templates = texts.templates(settings)
    messages = texts.messages(settings)
    database = await open_database(
        settings.database_url or default_database_url(), pool_size=settings.db_pool_size
    )
    remind = ReminderSettings()
    reminders = Reminders(
        ReminderStore(database.engine),
        templates,
        messages,
        remind.hours(),
        remind.nudges(),
        remind.interval_seconds,
    )
    conversation = Conversation(
        database.store,
        templates,
        # An organisation's own layouts when set, and the texts of Settings.prompts_dir in
        # the document too (a .env may set it).
        Renderer(settings.layouts_dir, messages),
        messages=messages,
        on_turn=turn_logger(settings),
        retry_budget=settings.conflict_retry_seconds,
        after_commit=reminders.after_commit,
        # /mina-uppgifter: everything stored about the teacher, as a zip.
        data_export=partial(
            export_zip,
            database.store,
            templates=templates,
            engine=database.engine,
            messages=messages,
        ),
        rules=ReminderRules(remind.hours(), remind.nudges()),
        burst_seconds=settings.burst_seconds,
    )
    gate = Gate(settings, AccessStore(database.engine))
    return Runtime(settings, database, conversation, gate, reminders)
