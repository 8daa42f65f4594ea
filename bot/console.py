"""The terminal channel: `planbot chat`.

Interactive in a terminal (numbered buttons, a pasted multi-line text is one message); when
stdin is not a terminal, one message a line, so a whole conversation can be scripted
(`planbot chat < svar.txt`). Documents are saved as files in the export directory.

In a terminal the line is read with GNU readline (the standard `readline` module): arrow
keys, Home/End and the history (↑) edit the line instead of writing escape codes into the
answer. Reading happens in the main thread, between turns run on one asyncio loop, so
Ctrl-C and Ctrl-D end the chat with one line and the terminal is left as it was. Input is
read as bytes: UTF-8, or Windows-1252 (a text file saved by Notepad or Excel) when the
bytes are not UTF-8; what is neither is refused with one line, never stored with å/ä/ö
dropped.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import re
import select
import sys
import uuid
from pathlib import Path
from typing import TextIO

from dialogs.commands import fold
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.types import Choice, Inbound, InboundKind, Outbound, UserRef
from dialogs.validators import strip_escapes

log = logging.getLogger(__name__)

PASTE_WINDOW = 0.05  # seconds: lines arriving this close together were pasted as one text
FALLBACK_ENCODING = "cp1252"  # what Windows programs save Swedish text as
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # shown as nothing, never raw


class Undecodable(Exception):
    """Input bytes that are neither UTF-8 nor Windows-1252."""


def decode_line(raw: bytes) -> str:
    """UTF-8 if the bytes are UTF-8, else Windows-1252; `Undecodable` otherwise."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError:
        raise Undecodable from None


def recover(text: str) -> str:
    """A line Python decoded with surrogateescape (bytes it could not read as UTF-8) read
    again as Windows-1252."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return decode_line(text.encode("utf-8", "surrogateescape"))


class Console:
    def __init__(
        self,
        conversation: Conversation,
        messages: Messages,
        *,
        user: str,
        export_dir: Path,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
    ) -> None:
        self.conversation = conversation
        self.msg = messages
        self.user = UserRef(channel="console", external_id=user, display_name=user)
        self.export_dir = export_dir
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = stdin.isatty()
        self.choices: tuple[Choice, ...] = ()
        self.choices_only = False

    def run(self, runner: asyncio.Runner) -> int:
        """The chat until end of input (Ctrl-D) or Ctrl-C; each turn runs on `runner`."""
        try:
            if self.interactive:
                self._setup_line_editing()
            runner.run(self._send(Inbound(user=self.user, kind=InboundKind.START, key=self._key())))
            while True:
                try:
                    line = self._read()
                except Undecodable:
                    self._print(self.msg("console.undecodable"))
                    continue
                if line is None:
                    self._print(self.msg("console.bye"))
                    return 0
                runner.run(self._send(self._inbound(line)))
        except KeyboardInterrupt:
            # Every answer given is committed before its reply is printed: nothing is lost.
            self._print(("\n" if self.interactive else "") + self.msg("console.bye"))
            return 130

    def _setup_line_editing(self) -> None:
        if hasattr(self.stdin, "reconfigure"):
            # input() decodes with stdin's error handler: keep undecodable bytes for recover().
            self.stdin.reconfigure(errors="surrogateescape")
        try:
            import readline
        except ImportError:  # Python built without it (Windows): plain input() still works
            return
        readline.set_auto_history(False)  # one entry per message, not per pasted line
        if "libedit" not in (readline.__doc__ or ""):
            # A Tab in an answer is a Tab, not file name completion.
            readline.parse_and_bind("tab: tab-insert")

    def _inbound(self, line: str) -> Inbound:
        line = strip_escapes(line)
        stripped = line.strip()
        if self.choices:
            if (
                self.choices_only
                and stripped.isdecimal()
                and 1 <= int(stripped) <= len(self.choices)
            ):
                choice = self.choices[int(stripped) - 1]
                return Inbound(
                    user=self.user, kind=InboundKind.CHOICE, key=self._key(), choice=choice.value
                )
            for choice in self.choices:
                if fold(stripped) == fold(choice.label):
                    return Inbound(
                        user=self.user,
                        kind=InboundKind.CHOICE,
                        key=self._key(),
                        choice=choice.value,
                    )
        return Inbound(user=self.user, kind=InboundKind.TEXT, key=self._key(), text=line)

    async def _send(self, inbound: Inbound) -> None:
        try:
            outs = await self.conversation.handle(inbound)
        except Exception:
            # The database went away, the disk is full...: the turn's log line says why; the
            # teacher hears that what was answered before is kept.
            log.debug("console turn failed", exc_info=True)
            self._print(self.msg("console.error"))
            return
        for out in outs:
            try:
                self._render(out)
            except OSError as exc:  # the document could not be saved (disk full, no access)
                log.error("console: saving a document failed: %s", exc)
                self._print(self.msg("console.save_failed", reason=exc.strerror or str(exc)))

    def _render(self, out: Outbound) -> None:
        lines: list[str] = []
        if out.progress:
            lines.append(f"── {out.progress} ──")
        if out.heading:
            lines.append(out.heading.upper() if len(out.heading) < 60 else out.heading)
        if out.text:
            lines.append(out.text)
        if out.note:
            # A quieter line in brackets; a note with brackets of its own is shown as it is.
            lines.append(out.note if "(" in out.note else f"({out.note})")
        if out.choices and out.export_plan_id is None:
            # (A document's buttons, the other copy and a PDF, are not numbered here: a
            # number would answer the question asked next. Its note says what to type.)
            lines.append(
                "  ".join(
                    f"[{i}] {c.label.removeprefix(f'{i}. ')}" for i, c in enumerate(out.choices, 1)
                )
            )
            if out.is_question:
                self.choices = out.choices
                self.choices_only = not out.accepts_text
        elif out.is_question:
            self.choices = ()
        if out.document is not None:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.export_dir / out.document.filename
            path.write_bytes(out.document.data)
            lines.append(self.msg("console.saved", path=str(path.resolve())))
        self._print("\n".join(lines))

    def _print(self, text: str) -> None:
        text = _CONTROL.sub("", strip_escapes(text))
        try:
            self.stdout.write(text + "\n\n")
            self.stdout.flush()
        except BrokenPipeError:
            # The reader went away (`planbot chat | head`): everything is stored already.
            raise SystemExit(0) from None

    def _read(self) -> str | None:
        if not self.interactive:
            return self._read_piped()
        try:
            first = recover(input("> "))
        except EOFError:
            return None
        lines = [first]
        # A pasted paragraph arrives as several lines at once: keep it one answer. The
        # terminal hands over one line per read() in its line mode.
        fd = self.stdin.fileno()
        while select.select([fd], [], [], PASTE_WINDOW)[0]:
            more = os.read(fd, 65536)
            if not more:
                break
            lines.append(decode_line(more).rstrip("\n"))
        text = "\n".join(lines)
        if "\n" not in text and text.strip():
            self._remember(text)
        return text

    def _read_piped(self) -> str | None:
        buffer = getattr(self.stdin, "buffer", None)
        if buffer is None:  # a text stream handed in by a caller
            line = self.stdin.readline()
            return line.rstrip("\n") if line else None
        raw = buffer.readline()
        if not raw:
            return None
        return decode_line(raw).rstrip("\r\n")

    @staticmethod
    def _remember(text: str) -> None:
        try:
            import readline
        except ImportError:
            return
        readline.add_history(strip_escapes(text))

    @staticmethod
    def _key() -> str:
        return f"console:{uuid.uuid4().hex}"


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "larare"
