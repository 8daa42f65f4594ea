"""The plan templates and message texts of this process, read once.

Every part of the bot asks here (or `Messages.load()`, which resolves the same folder), so
`PLANBOT_PROMPTS_DIR` counts everywhere: the CLI, the channels, the engine and the export.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from bot.settings import Settings
from dialogs.messages import Messages, prompts_dir
from dialogs.template import Template, load_templates


def directory(settings: Settings) -> Path:
    """The folder of templates and texts for these settings."""
    return (settings.prompts_dir or prompts_dir()).expanduser().resolve()


def messages(settings: Settings) -> Messages:
    return Messages.load(settings.language, directory(settings) / "messages")


def templates(settings: Settings) -> dict[str, Template]:
    """The plan templates; raises dialogs.template.TemplateError when one is broken."""
    return _templates(directory(settings), settings.language)


@lru_cache(maxsize=8)
def _templates(folder: Path, language: str) -> dict[str, Template]:
    return load_templates(folder, language)
