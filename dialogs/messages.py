"""The bot's own wording: Jinja2 snippets in prompts/messages/*.<lang>.yaml, one key each.

Python code names a key and passes values; the Swedish lives in the YAML files. Values are
data, never template source, so a teacher's `{{ 7*7 }}` stays literal.

Swedish nouns change with number and gender, so a text may write `{{ label | plural(count) }}`
("1 insats", "2 insatser") and `{{ label | article }}` ("en insats", "ett område"). Both look
the word up in the `noun.<word>` keys of the same files ("noun.område: ett område | områden");
a word not listed there is left as it is, with "en".
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml

from dialogs.template import PROMPTS_DIR, TemplateError


def prompts_dir() -> Path:
    """The folder of templates and texts: PLANBOT_PROMPTS_DIR from the environment, else the
    packaged prompts/. (The bot itself passes Settings.prompts_dir, which a `.env` may set.)"""
    env = os.environ.get("PLANBOT_PROMPTS_DIR", "").strip()
    return Path(env).expanduser() if env else PROMPTS_DIR


class Messages:
    def __init__(self, texts: dict[str, str]) -> None:
        self._env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
        )
        self._texts = texts
        self._compiled: dict[str, jinja2.Template] = {}
        self._static: dict[str, str] = {}
        self._env.filters["plural"] = self._plural
        self._env.filters["article"] = self._article

    @classmethod
    def load(cls, language: str = "sv", directory: Path | None = None) -> Messages:
        """The texts of one language; read once per process and directory (they are data
        that does not change while the bot runs). Default: `prompts_dir() / "messages"`."""
        return _load(language, (directory or prompts_dir() / "messages").resolve())

    @classmethod
    def read(cls, language: str, directory: Path) -> Messages:
        texts: dict[str, str] = {}
        for path in sorted(directory.glob(f"*.{language}.yaml")):
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise TemplateError(f"{path}: kan inte läsas som YAML: {exc}") from exc
            if not isinstance(raw, dict):
                raise TemplateError(f"{path}: ska vara en lista av nyckel: text")
            for key, value in raw.items():
                if key in texts:
                    raise TemplateError(f"{path}: fältet {key}: nyckeln finns redan i en annan fil")
                if not isinstance(value, str):
                    raise TemplateError(f"{path}: fältet {key}: ska vara en text")
                texts[str(key)] = value
        return cls(texts)

    def _noun(self, word: str) -> tuple[str, str, str]:
        """(article, singular, plural) of a noun, from its `noun.<word>` key."""
        singular = str(word).strip().lower()
        entry = self._texts.get(f"noun.{singular}")
        if entry is None or "|" not in entry:
            return "en", singular, singular
        one, many = (part.strip() for part in entry.split("|", 1))
        article, _, listed = one.partition(" ")
        return article, listed or singular, many

    def _plural(self, word: str, count: int) -> str:
        _, singular, plural = self._noun(word)
        return singular if count == 1 else plural

    def _article(self, word: str) -> str:
        return self._noun(word)[0]

    def names(self) -> list[str]:
        return sorted(self._texts)

    def problems(self) -> list[str]:
        """Every text rendered once with sample values: "key: what is wrong", one per broken
        text (a Jinja syntax error, a filter that does not exist...)."""
        found: list[str] = []
        for key in self.names():
            try:
                tree = self._env.parse(self._texts[key])
                names = jinja2.meta.find_undeclared_variables(tree)
                template = self._compiled.get(key) or self._env.from_string(tree)
                self._compiled[key] = template
                template.render(**dict.fromkeys(names, "exempel"))
            except jinja2.TemplateError as exc:
                line = f" rad {exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
                found.append(f"{key}{line}: {exc.message or type(exc).__name__}")
            except (TypeError, ValueError, AttributeError, KeyError, IndexError):
                # The text is sound; the sample value is not of the shape it loops over
                # (e.g. pairs). Only Jinja's own errors say a text is broken.
                continue
        return found

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def __call__(self, key: str, **params: Any) -> str:
        static = self._static.get(key)
        if static is not None:
            return static
        template = self._compiled.get(key)
        if template is None:
            try:
                source = self._texts[key]
            except KeyError:
                raise KeyError(f"message {key!r} is missing from prompts/messages") from None
            template = self._compiled[key] = self._env.from_string(source)
            if "{" not in source:  # plain text: rendered once (a step asks for several)
                self._static[key] = template.render().strip()
        return template.render(**params).strip()


@lru_cache(maxsize=8)
def _load(language: str, directory: Path) -> Messages:
    return Messages.read(language, directory)
