"""The terminal channel: `planbot chat`.

Interactive in a terminal (numbered buttons, a pasted multi-line text is one message); when
stdin is not a terminal, one message a line, so a whole conversation can be scripted
(`planbot chat < svar.txt`). Documents are saved as files in the export directory.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import select
import sys
import uuid
from pathlib import Path
from typing import TextIO

from dialogs.commands import fold
from dialogs.messages import Messages
from dialogs.service import Conversation
from dialogs.types import Choice, Inbound, InboundKind, Outbound, UserRef

log = logging.getLogger(__name__)

PASTE_WINDOW = 0.05  # seconds: lines arriving this close together were pasted as one text


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

    async def run(self) -> int:
        await self._send(Inbound(user=self.user, kind=InboundKind.START, key=self._key()))
        while True:
            line = await asyncio.to_thread(self._read)
            if line is None:
                self._print(self.msg("console.bye"))
                return 0
            await self._send(self._inbound(line))

    def _inbound(self, line: str) -> Inbound:
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
            lines.append(f"({out.note})")
        if out.choices:
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
        try:
            self.stdout.write(text + "\n\n")
            self.stdout.flush()
        except BrokenPipeError:
            # The reader went away (`planbot chat | head`): everything is stored already.
            raise SystemExit(0) from None

    def _read(self) -> str | None:
        if self.interactive:
            try:
                first = input("> ")
            except EOFError:
                return None
            lines = [first]
            # A pasted paragraph arrives as several lines at once: keep it one answer.
            while select.select([self.stdin], [], [], PASTE_WINDOW)[0]:
                more = self.stdin.readline()
                if not more:
                    break
                lines.append(more.rstrip("\n"))
            return "\n".join(lines)
        line = self.stdin.readline()
        if not line:
            return None
        return line.rstrip("\n")

    @staticmethod
    def _key() -> str:
        return f"console:{uuid.uuid4().hex}"


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "larare"
