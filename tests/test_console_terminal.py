"""`planbot chat` in a real terminal, as a teacher types: a pseudo-terminal (the standard
`pty` module) is the process's controlling terminal, so arrow keys, Home/End, the history,
a paste, Ctrl-C and Ctrl-D go through the kernel's line discipline and readline exactly as
from a keyboard. And `planbot chat < fil.txt` with a file saved by a Windows program.

What was stored is read back from the .docx the chat saves, as the teacher would read it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import re
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.channel_prompts import handlingsplan_only
from tests.test_console_e2e import ANSWERS, TIMEOUT, ReadDocument, read_docx

LEFT, RIGHT, UP = "\x1b[D", "\x1b[C", "\x1b[A"
HOME, END = "\x1b[H", "\x1b[F"
CTRL_C, CTRL_D = "\x03", "\x04"
ENTER = "\r"  # what the Enter key sends; the terminal turns it into a line end
SAVED = re.compile(r"Dokumentet är sparat: (?P<path>[^\n]+\.docx)\n")
QUESTION = re.compile(r"── [^\n]*fråga (?P<number>\d+) av \d+ ──\n(?P<heading>[^\n]+)\n")
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]")


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "XDG_"))}
    env.update(
        HOME=str(home),
        TERM="xterm",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONUNBUFFERED="1",
        INPUTRC=str(home / "inputrc"),  # no personal key bindings
        PLANBOT_PROMPTS_DIR=str(handlingsplan_only()),
    )
    (home / "inputrc").write_text("")
    return env


def _command(home: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot.cli",
        "chat",
        "--db",
        str(home / "p.db"),
        "--out",
        str(home / "out"),
        "--user",
        "larare",
    ]


def _take_terminal() -> None:  # runs in the child after setsid(): the pty becomes its terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """`planbot chat` on a pseudo-terminal: type keys, wait for what it prints."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.master, slave = os.openpty()
        self.slave = slave
        self.proc = subprocess.Popen(
            _command(home),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=home,
            env=_environment(home),
            start_new_session=True,
            preexec_fn=_take_terminal,  # only an ioctl, right before exec
        )
        self.raw = ""  # everything printed, as the terminal received it
        self.pos = 0
        self._chunks: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._eof = False

    def _read(self) -> None:
        decoder_pending = b""
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if not data:
                self._chunks.put(decoder_pending.decode("utf-8", "replace") or None)
                self._chunks.put(None)
                return
            decoder_pending += data
            try:
                text = decoder_pending.decode("utf-8")
            except UnicodeDecodeError:
                continue  # a multi-byte character split between reads
            decoder_pending = b""
            self._chunks.put(text)

    @property
    def screen(self) -> str:
        """What was printed, without escape sequences and carriage returns."""
        return ANSI.sub("", self.raw).replace("\r", "")

    def expect(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT) -> re.Match[str]:
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen
            match = regex.search(screen, self.pos)
            if match:
                self.pos = match.end()
                return match
            left = deadline - time.monotonic()
            if left <= 0 or self._eof:
                raise AssertionError(
                    f"waited for {regex.pattern!r}; printed:\n{screen[self.pos :]}"
                )
            try:
                chunk = self._chunks.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if chunk is None:
                self._eof = True
            else:
                self.raw += chunk

    def prompt(self) -> None:
        """Wait until the chat waits for input, and a little longer than the paste window."""
        self.expect("> ")
        time.sleep(0.15)

    def question(self) -> str:
        heading = self.expect(QUESTION)["heading"]
        self.prompt()
        return heading

    def type(self, keys: str, *, pause: float = 0.05) -> None:
        """Key by key (an escape sequence is one key), as fingers type."""
        for key in re.findall(r"\x1b\[[0-9;]*[A-Za-z~]|.", keys, re.DOTALL):
            os.write(self.master, key.encode("utf-8"))
            time.sleep(pause)

    def paste(self, text: str) -> None:
        """All at once, as a terminal delivers a paste."""
        os.write(self.master, text.encode("utf-8"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


def open_terminal(terminals: list[Terminal], home: Path) -> Terminal:
    terminal = Terminal(home)
    terminals.append(terminal)
    return terminal


def first_question(terminal: Terminal) -> str:
    terminal.expect("Hej! Jag hjälper dig att skriva en plan")
    return terminal.question()


def export(terminal: Terminal) -> ReadDocument:
    terminal.type("/exportera" + ENTER)
    path = Path(terminal.expect(SAVED)["path"])
    terminal.prompt()
    return read_docx(path)


def finished_cleanly(terminal: Terminal, expected_code: int) -> None:
    code = terminal.proc.wait(timeout=TIMEOUT)
    try:
        terminal.expect("Allt du svarat är sparat", timeout=5)
    finally:
        assert "Traceback" not in terminal.screen, terminal.screen
    assert code == expected_code, terminal.screen
    # The terminal is left in its line mode with echo, as it was before the chat.
    attrs = termios.tcgetattr(terminal.slave)
    assert attrs[3] & termios.ECHO and attrs[3] & termios.ICANON


# --------------------------------------------------------------------------- the keys


def test_arrow_keys_home_and_end_edit_the_line_instead_of_writing_escape_codes(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    terminal = open_terminal(terminals, tmp_path)
    assert first_question(terminal) == "INSATSENS NAMN"
    # "Narvaro", back two letters, insert "X"; to the start for "Ny ", to the end for "!".
    terminal.type("Narvaro" + LEFT + LEFT + "X" + HOME + "Ny " + END + "!" + RIGHT + ENTER)
    terminal.question()
    document = export(terminal)
    assert document.identity["Insatsens namn"] == "Ny NarvaXro!"
    assert "[D" not in document.text and "\x1b" not in document.text


def test_arrow_up_brings_back_the_previous_line(tmp_path: Path, terminals: list[Terminal]) -> None:
    terminal = open_terminal(terminals, tmp_path)
    first_question(terminal)
    terminal.type("Läsning åk 4" + ENTER)
    assert terminal.question() == "SKOLA/ENHET"
    # The history holds the title: ↑, then edit it into the unit's name.
    terminal.type(UP + HOME + "Skolan för " + ENTER)
    terminal.question()
    document = export(terminal)
    assert document.identity["Insatsens namn"] == "Läsning åk 4"
    assert document.identity["Skola/enhet"] == "Skolan för Läsning åk 4"


def test_a_pasted_paragraph_of_several_lines_is_one_answer(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    terminal = open_terminal(terminals, tmp_path)
    first_question(terminal)
    for key in ("titel", "enhet", "forfattare"):
        terminal.type(ANSWERS[key] + ENTER, pause=0.005)
        terminal.question()
    paragraph = [
        "Närvarostatistiken för ht-25 visar att 14 % av eleverna har hög frånvaro.",
        "Frånvaron är störst på måndagar.",
        "Mentorerna följer inte upp ströfrånvaron i tid.",
    ]
    terminal.paste("\n".join(paragraph) + "\n")
    assert terminal.question() == "MÅL"
    document = export(terminal)
    assert document.under["Nulägesanalys"] == "\n".join(paragraph)
    assert document.under["Mål"] == "Ej besvarad"


# --------------------------------------------------------------------------- ending the chat


def test_ctrl_c_ends_the_chat_with_one_line_and_keeps_every_answer(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    terminal = open_terminal(terminals, tmp_path)
    first_question(terminal)
    terminal.type("Läsning åk 4" + ENTER)
    terminal.question()
    terminal.type("Ringsjö" + CTRL_C)  # half a line typed, then Ctrl-C
    finished_cleanly(terminal, 130)
    after = terminal.screen[terminal.screen.index("Ringsjö") :]
    assert [line for line in after.split("\n")[1:] if line.strip()] == [
        "Hej då! Allt du svarat är sparat – skriv `planbot chat` när du vill fortsätta."
    ]

    again = open_terminal(terminals, tmp_path)
    again.expect("VÄLKOMMEN TILLBAKA!")
    again.prompt()
    again.type("Fortsätt" + ENTER)
    assert again.question() == "SKOLA/ENHET"
    assert export(again).identity["Insatsens namn"] == "Läsning åk 4"


def test_ctrl_d_ends_the_chat_with_one_line(tmp_path: Path, terminals: list[Terminal]) -> None:
    terminal = open_terminal(terminals, tmp_path)
    first_question(terminal)
    terminal.type("Läsning åk 4" + ENTER)
    terminal.question()
    terminal.type(CTRL_D)
    finished_cleanly(terminal, 0)


# --------------------------------------------------------------------------- piped input


def _piped(home: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    env = _environment(home)
    env.pop("TERM")
    return subprocess.run(
        _command(home),
        input=data,
        capture_output=True,
        cwd=home,
        env=env,
        timeout=TIMEOUT * 2,
        check=False,
    )


def _saved(stdout: str) -> ReadDocument:
    return read_docx(Path(SAVED.findall(stdout.replace("\r", ""))[-1]))


def test_a_file_saved_by_a_windows_program_keeps_its_swedish_letters(tmp_path: Path) -> None:
    lines = ["Språkutveckling i förskoleklass", "Ängsbacka skola, Håbo", "Åsa Öberg", "/exportera"]
    result = _piped(tmp_path, "\r\n".join(lines).encode("cp1252") + b"\r\n")
    stdout = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
    document = _saved(stdout)
    assert document.identity["Insatsens namn"] == "Språkutveckling i förskoleklass"
    assert document.identity["Skola/enhet"] == "Ängsbacka skola, Håbo"
    assert document.identity["Upprättad av"] == "Åsa Öberg"


def test_a_line_that_is_no_text_at_all_is_refused_with_one_line(tmp_path: Path) -> None:
    # 0x81 and 0x8d mean nothing in UTF-8 nor in Windows-1252.
    data = b"\x81\x8d\x81\x8d\n" + "Läsning åk 4\n/exportera\n".encode()
    result = _piped(tmp_path, data)
    stdout = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode()
    assert stdout.count("kunde inte läsas som text") == 1
    assert _saved(stdout).identity["Insatsens namn"] == "Läsning åk 4"


def test_escape_codes_in_a_command_or_an_answer_are_neither_echoed_nor_stored(
    tmp_path: Path,
) -> None:
    data = "/hjälp\x1b[31m\x1b]0;titel\x07\nNärvaro\x1b[D\x1b[D\x1bOH\n/exportera\n".encode()
    result = _piped(tmp_path, data)
    stdout = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode()
    assert "\x1b" not in stdout and "[31m" not in stdout and "\x07" not in stdout
    document = _saved(stdout)
    assert document.identity["Insatsens namn"] == "Närvaro"


def test_two_plans_for_one_school_on_one_day_are_saved_as_two_documents(tmp_path: Path) -> None:
    one_plan = ["Närvaro åk 7", "Ringsjöskolan, Höörs kommun"]
    lines = [*one_plan, "Arbetslag 7", "/exportera", "/ny", *one_plan, "Arbetslag 8", "/exportera"]
    result = _piped(tmp_path, ("\n".join(lines) + "\n").encode())
    assert result.returncode == 0, result.stderr.decode()
    saved = SAVED.findall(result.stdout.decode().replace("\r", ""))
    assert len(saved) == 2 and saved[0] != saved[1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        Path(p).name for p in saved
    )
    authors = [read_docx(Path(p)).identity["Upprättad av"] for p in saved]
    assert authors == ["Arbetslag 7", "Arbetslag 8"]
    for path in saved:
        assert Path(path).name.startswith("UTKAST – Handlingsplan – Närvaro åk 7 – Ringsjöskolan")
