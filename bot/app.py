"""Wiring: settings → database (storage/) → Conversation (dialogs/) with the .docx renderer
(exports/). Every channel starts from `start_runtime` and ends with `Runtime.close`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.reminders import Reminders, ReminderSettings
from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.template import PROMPTS_DIR, load_templates
from exports.docx import render_document
from storage.db import Database, default_database_url, open_database
from storage.reminders import ReminderStore


@dataclass
class Runtime:
    settings: Settings
    database: Database
    conversation: Conversation
    reminders: Reminders | None = None

    async def close(self) -> None:
        await self.database.close()


async def start_runtime(settings: Settings) -> Runtime:
    templates = load_templates(settings.prompts_dir or PROMPTS_DIR, settings.language)
    messages = Messages.load(settings.language, (settings.prompts_dir or PROMPTS_DIR) / "messages")
    database = await open_database(settings.database_url or default_database_url())
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
        render_document,
        messages=messages,
        after_commit=reminders.after_commit,
        burst_seconds=settings.burst_seconds,
    )
    return Runtime(settings, database, conversation, reminders)
