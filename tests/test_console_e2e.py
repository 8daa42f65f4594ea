"""The terminal channel end to end, as a teacher uses it: the real `planbot chat` in a
subprocess, one message a line on a pipe, the saved .docx opened with python-docx.

Every process gets HOME, the working directory and the database inside the test's tmp_path,
so nothing touches the real user directory or a `.env` in the repository. A conversation is
driven turn by turn: write a line, then wait (with a timeout) for the bot's next question.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from docx.document import Document as WordDocument
from docx.shared import Pt
from docx.text.paragraph import Paragraph

from dialogs.dates import describe_period, parse_when
from dialogs.template import Question, load_templates
from tests.channel_prompts import handlingsplan_only

TIMEOUT = 15.0  # seconds to wait for one reply; a healthy turn takes milliseconds

# Progress line and heading of a question, as the console prints them.
QUESTION = re.compile(r"── [^\n]*fråga (?P<number>\d+) av (?P<total>\d+) ──\n(?P<heading>[^\n]+)\n")
PLANS = re.compile(r"DINA PLANER\n(?P<lines>.*?)\n\(Välj en plan", re.DOTALL)
SAVED = re.compile(r"Dokumentet är sparat: (?P<path>[^\n]+\.docx)\n")

TEMPLATE = load_templates(language="sv")["handlingsplan"]
PLANNING: list[Question] = [
    item
    for step in TEMPLATE.steps
    for item in step.items
    if isinstance(item, Question) and item.phase.value == "planning"
]
IDENTITY_IDS = {TEMPLATE.title_field, TEMPLATE.unit_field, TEMPLATE.author_field}

# A plan written from seed 001 ("Uppgift 5": a handlingsplan for an insats that promotes
# attendance) and the template's examples, one line per planning question, in order.
ANSWERS: dict[str, str] = {
    "titel": "Tidig uppföljning av frånvaro i åk 7",
    "enhet": "Ringsjöskolan, Höörs kommun",
    "forfattare": "Arbetslag 7–9 och elevhälsoteamet",
    "nulagesanalys": (
        "Närvarostatistiken för ht-25 visar att 14 % av eleverna i åk 7 har mer än 10 % "
        "frånvaro, främst på måndagar och under idrottslektionerna. Mentorerna beskriver att "
        "ströfrånvaron ofta inte följs upp förrän den blivit omfattande."
    ),
    "mal": (
        "Andelen elever i åk 7 med mer än 10 % frånvaro ska minska till under 8 % till vt-27. "
        "Tecken: all ströfrånvaro följs upp inom en vecka och fler elever kommer i tid på "
        "måndagar."
    ),
    "aktivitet": (
        "Mentorerna kontaktar vårdnadshavare samma dag vid ogiltig frånvaro och har ett kort "
        "samtal med eleven dagen efter. Frånvaron stäms av varje vecka i arbetslaget."
    ),
    "malgrupp": "Alla elever i åk 7, särskilt de med upprepad ströfrånvaro.",
    "genomforande": (
        "Mentorerna ringer hem, kuratorn håller i elevsamtalen och rektor följer upp i "
        "arbetslagsmötet. Vi samverkar med socialtjänstens fältgrupp."
    ),
    "nar_hur_ofta": "Varje skoldag vid första lektionen och en avstämning varje måndag.",
    "resurser": "30 minuter planeringstid i veckan för mentorerna och stöd av kuratorn.",
    "tidplan": "ht-26 – vt-27",
    "datainsamling": (
        "Ny närvarostatistik för åk 7 tas ut i maj och jämförs med ht-25. Mentorerna för korta "
        "samtal med fem elever var, och vi diskuterar resultaten i personalgruppen."
    ),
    "nar_uppfoljning": "20 maj 2027",
    "vem_uppfoljning": "Mentorerna i åk 7 tillsammans med kuratorn.",
}


def test_answers_cover_every_planning_question() -> None:
    assert list(ANSWERS) == [q.id for q in PLANNING]


# --------------------------------------------------------------------------- driving the chat


class Chat:
    """One `planbot chat` process: write lines, wait for what it prints."""

    def __init__(self, home: Path, *, user: str = "larare") -> None:
        self.home = home
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "XDG_"))}
        env.update(HOME=str(home), PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
        env.update(PLANBOT_PROMPTS_DIR=str(handlingsplan_only()))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "chat",
                "--db",
                str(home / "p.db"),
                "--out",
                str(home / "out"),
                "--user",
                user,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=home,
            env=env,
        )
        self.output = ""  # everything printed so far
        self.pos = 0  # how far `expect` has read
        self._chunks: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._eof = False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        pending = b""
        while True:
            data = os.read(fd, 65536)
            if not data:
                if pending:
                    self._chunks.put(pending.decode("utf-8", "replace"))
                self._chunks.put(None)
                return
            pending += data
            # Never split a multi-byte character between two chunks.
            cut = len(pending)
            while cut > 0 and (pending[cut - 1] & 0xC0) == 0x80:
                cut -= 1
            if cut > 0 and pending[cut - 1] >= 0xC0:
                cut -= 1
            if cut:
                self._chunks.put(pending[:cut].decode("utf-8"))
                pending = pending[cut:]

    def _pump(self, timeout: float) -> bool:
        """Move what the process printed into `output`; False once it closed stdout."""
        if self._eof:
            return False
        try:
            chunk = self._chunks.get(timeout=timeout)
        except queue.Empty:
            return True
        if chunk is None:
            self._eof = True
            return False
        self.output += chunk
        return True

    def expect(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait until `pattern` appears after what was read before; return the match and
        move past it."""
        regex = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output, self.pos)
            if match:
                self.pos = match.end()
                return match
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(min(left, 0.5)):
                # Timed out, or the process closed its output (everything is in `output`).
                stderr = self._stderr() if self._eof else ""
                raise AssertionError(
                    f"waited for {regex.pattern!r}; the bot printed:\n"
                    f"{self.output[self.pos :]}\n{stderr}"
                )

    def question(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """Wait for the next question: (its number, its heading as printed)."""
        match = self.expect(QUESTION, timeout)
        return int(match["number"]), match["heading"]

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def answer(self, line: str) -> tuple[int, str]:
        """Send a line and wait for the question that follows it."""
        self.send(line)
        return self.question()

    def quiet_for(self, seconds: float) -> str:
        """What the process prints within `seconds` (to show it prints nothing)."""
        start = len(self.output)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._pump(deadline - time.monotonic()):
            pass
        return self.output[start:]

    def close(self) -> str:
        """End of input, as a teacher closing the terminal: the bot says goodbye."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.expect("Hej då!")
        self.proc.wait(timeout=TIMEOUT)
        assert self.proc.returncode == 0, self._stderr()
        return self.output

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=TIMEOUT)

    def _stderr(self) -> str:
        assert self.proc.stderr is not None
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return ""
        return self.proc.stderr.read().decode("utf-8", "replace")

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def chats(tmp_path: Path) -> Iterator[list[Chat]]:
    """Started chats, all on tmp_path/p.db; each is killed at the end if still running."""
    started: list[Chat] = []
    yield started
    for chat in started:
        chat.cleanup()


def start(chats: list[Chat], home: Path, *, user: str = "larare") -> Chat:
    chat = Chat(home, user=user)
    chats.append(chat)
    return chat


def new_handlingsplan(chat: Chat) -> tuple[int, str]:
    """A first visit: the welcome, the choice of plan type when there are several (typed as
    its button's label), then the first question."""
    chat.expect("Hej! Jag hjälper dig att skriva en plan")
    first = chat.expect(re.compile(r"VILKEN SORTS PLAN VILL DU SKRIVA\?|" + QUESTION.pattern))
    if first.group(0).startswith("VILKEN"):
        chat.expect("] Handlingsplan")
        return chat.answer("Handlingsplan")
    return int(first["number"]), first["heading"]


def label_of(question_id: str) -> str:
    return next(q.label for q in PLANNING if q.id == question_id)


def is_heading_of(printed: str, question_id: str) -> bool:
    # The console prints short headings in capitals.
    return printed.casefold() == label_of(question_id).casefold()


# --------------------------------------------------------------------------- reading the .docx


@dataclass
class ReadDocument:
    word: WordDocument
    headings: list[tuple[int, str]]  # (level, text) in document order
    under: dict[str, str]  # Heading 2 text -> the answer's paragraphs under it (no guidance)
    identity: dict[str, str]  # the identity table: label -> value
    text: str  # every paragraph, table cell, header and footer

    @property
    def marked_draft(self) -> bool:
        header = " ".join(p.text for p in self.word.sections[0].header.paragraphs)
        title = self.word.core_properties.title or ""
        return "UTKAST" in header or "UTKAST" in title or "UTKAST" in self.text


def _is_guidance(paragraph: Paragraph) -> bool:
    """The seed's guiding text under a heading: small grey italics, not the answer."""
    runs = [r for r in paragraph.runs if r.text.strip()]
    return bool(runs) and all(r.italic and r.font.size == Pt(9) for r in runs)


def read_docx(path: Path) -> ReadDocument:
    word = docx.Document(str(path))
    headings: list[tuple[int, str]] = []
    under: dict[str, list[str]] = {}
    current: str | None = None
    parts: list[str] = []
    for paragraph in word.paragraphs:
        parts.append(paragraph.text)
        style = paragraph.style.name if paragraph.style is not None else ""
        if style == "Title" or style.startswith("Heading"):
            level = 0 if style == "Title" else int(style.split()[-1])
            headings.append((level, paragraph.text))
            current = paragraph.text if level == 2 else None
            if current is not None:
                under[current] = []
        elif current is not None and paragraph.text.strip() and not _is_guidance(paragraph):
            under[current].append(paragraph.text)
    identity: dict[str, str] = {}
    for table in word.tables:
        for row in table.rows:
            label, value = (cell.text for cell in row.cells[:2])
            identity[label] = value
            parts += [label, value]
    section = word.sections[0]
    parts += [p.text for p in section.header.paragraphs]
    parts += [p.text for p in section.footer.paragraphs]
    return ReadDocument(
        word=word,
        headings=headings,
        under={k: "\n".join(v) for k, v in under.items()},
        identity=identity,
        text="\n".join(parts),
    )


def saved_document(chat: Chat) -> Path:
    """Wait for the console's "Dokumentet är sparat: …" and return that file."""
    path = Path(chat.expect(SAVED)["path"])
    assert path.is_file(), path
    assert path.parent == (chat.home / "out").resolve()
    return path


def assert_every_answer_under_its_heading(document: ReadDocument, answers: dict[str, str]) -> None:
    for question in PLANNING:
        if question.id not in answers:
            continue
        written = answers[question.id]
        if question.id in IDENTITY_IDS:
            assert document.identity.get(question.label) == written, question.label
            continue
        assert question.label in document.under, (question.label, document.headings)
        assert written in document.under[question.label], (
            f"{question.label}: {written!r} not in {document.under[question.label]!r}"
        )


def answer_all(chat: Chat, ids: list[str]) -> None:
    """Answer the given questions in turn, checking each is the one being asked."""
    for question_id in ids:
        chat.send(ANSWERS[question_id])
        if question_id != PLANNING[-1].id:
            number, heading = chat.question()
            next_id = PLANNING[number - 1].id
            assert PLANNING.index(next(q for q in PLANNING if q.id == question_id)) + 2 == number
            assert is_heading_of(heading, next_id), (number, heading)


# --------------------------------------------------------------------------- the tests


def test_chat_help_lists_the_subcommands(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=TIMEOUT,
        check=True,
    )
    for command in ("chat", "telegram", "slack"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), result.stdout
    assert "samtal i terminalen" in result.stdout


def test_full_scripted_conversation_ends_with_a_docx_with_every_answer_under_its_heading(
    tmp_path: Path, chats: list[Chat]
) -> None:
    chat = start(chats, tmp_path)
    number, heading = new_handlingsplan(chat)
    assert (number, heading) == (1, label_of("titel").upper())
    assert f"av {len(PLANNING)}" in chat.output

    answer_all(chat, list(ANSWERS))

    # The last planning answer shows the whole plan; the teacher's yes makes it "planerad",
    # with the follow-up date written out, and the document comes by itself.
    chat.expect("STÄMMER PLANEN?")
    chat.send("ja")
    chat.expect("Planeringsdelen av ”Tidig uppföljning av frånvaro i åk 7” är klar")
    chat.expect("Uppföljningen är satt till 20 maj 2027")
    chat.expect("Här är planen som Word-dokument.")
    automatic = saved_document(chat)
    chat.send("/exportera")
    chat.expect("Här är planen som Word-dokument.")
    exported = saved_document(chat)
    chat.close()
    assert exported == automatic

    document = read_docx(exported)
    assert not document.marked_draft, "a finished planning part must not say UTKAST"
    assert document.headings[0] == (0, "Handlingsplan – Tidig uppföljning av frånvaro i åk 7")
    assert_every_answer_under_its_heading(document, ANSWERS)

    # The seed's order: Steg 1 → 4, each question under its own step, in template order.
    steps = [text for level, text in document.headings if level == 1]
    assert steps == [s.title for s in TEMPLATE.steps if s.numbered]
    questions = [text for level, text in document.headings if level == 2]
    expected = [
        item.label
        for step in TEMPLATE.steps
        if step.numbered
        for item in step.items
        if isinstance(item, Question)
    ]
    assert questions == expected

    # Periods and dates written out for the reader, the teacher's own words kept.
    period = describe_period(*_parsed("ht-26 – vt-27"))
    assert period == "1 augusti 2026 – 30 juni 2027"
    assert document.under[label_of("tidplan")] == f"ht-26 – vt-27 ({period})"
    assert document.under[label_of("nar_uppfoljning")] == "20 maj 2027"
    # Follow-up questions wait for the follow-up, and say so.
    assert document.under["Resultat"] == "Fylls i vid uppföljningen"


def _parsed(text: str) -> tuple[dt.date, dt.date]:
    parsed = parse_when(text, dt.date(2026, 5, 1))
    assert parsed is not None
    return parsed


def test_resumes_half_finished_plan_after_sigkill(tmp_path: Path, chats: list[Chat]) -> None:
    half = len(PLANNING) // 2
    first = start(chats, tmp_path)
    assert new_handlingsplan(first)[0] == 1
    answer_all(first, [q.id for q in PLANNING[:half]])
    # Every answer is durable before the next question is printed: kill it without warning.
    first.kill()
    assert first.proc.returncode == -signal.SIGKILL

    second = start(chats, tmp_path)
    welcome = second.expect(re.compile(r"VÄLKOMMEN TILLBAKA!\n(?P<text>[^\n]+)\n"))
    assert "”Tidig uppföljning av frånvaro i åk 7”" in welcome["text"]
    assert f"{half} av {len(PLANNING)} frågor besvarade" in welcome["text"]
    second.expect("[1] Fortsätt  [2] Ny plan  [3] Mina planer")
    # The offer is the first thing the bot says, before any question.
    assert second.output.lstrip().startswith("VÄLKOMMEN TILLBAKA!")

    number, heading = second.answer("1")
    assert number == half + 1
    assert is_heading_of(heading, PLANNING[half].id), heading
    assert "Nu arbetar vi med ”Tidig uppföljning av frånvaro i åk 7”" in second.output

    answer_all(second, [q.id for q in PLANNING[half:]])
    second.expect("STÄMMER PLANEN?")
    second.send("ja")
    second.expect("Här är planen som Word-dokument.")
    document = read_docx(saved_document(second))
    second.close()
    assert not document.marked_draft
    assert_every_answer_under_its_heading(document, ANSWERS)


def test_draft_export_is_marked_utkast(tmp_path: Path, chats: list[Chat]) -> None:
    chat = start(chats, tmp_path)
    new_handlingsplan(chat)
    answer_all(chat, ["titel", "enhet", "forfattare", "nulagesanalys"])
    chat.send("/exportera")
    chat.expect("Den är inte klar, så dokumentet är märkt UTKAST.")
    path = saved_document(chat)
    # After the document the same question is asked again: nothing moved.
    number, heading = chat.question()
    assert (number, heading) == (5, label_of("mal").upper())
    chat.close()

    assert re.fullmatch(
        r"UTKAST – Handlingsplan – Tidig uppföljning av frånvaro i åk 7"
        r" – Ringsjöskolan, Höörs kommun – \d{4}-\d\d-\d\d \([0-9a-f]{6}\)\.docx",
        path.name,
    )
    document = read_docx(path)
    assert document.marked_draft
    assert document.word.core_properties.title.startswith("UTKAST")
    header = " ".join(p.text for p in document.word.sections[0].header.paragraphs)
    assert "UTKAST" in header
    assert document.word.paragraphs[0].text.startswith("UTKAST")
    assert_every_answer_under_its_heading(
        document, {k: ANSWERS[k] for k in ("titel", "enhet", "forfattare", "nulagesanalys")}
    )
    assert document.under[label_of("mal")] == "Ej besvarad"


def luhn_valid_personnummer(birth: str, serial: str) -> str:
    """ "YYMMDD-NNNC" with the Luhn check digit C computed over YYMMDDNNN."""
    digits = birth + serial
    total = 0
    for i, char in enumerate(digits):
        product = int(char) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    check = (10 - total % 10) % 10
    return f"{birth}-{serial}{check}"


def test_odd_input_gets_a_clear_message_and_loses_nothing(
    tmp_path: Path, chats: list[Chat]
) -> None:
    chat = start(chats, tmp_path)
    assert new_handlingsplan(chat)[0] == 1

    # An emoji is text like any other.
    title = "Närvarolyftet 🚀 åk 8"
    assert chat.answer(title)[0] == 2

    # An empty line is no answer: a clear message, and the question again.
    chat.send("")
    chat.expect("Den här frågan behöver ett svar innan vi går vidare.")
    assert chat.question()[0] == 2
    # A bell character alone is no answer: cleaned away, the question needs one.
    chat.send("\x07")
    chat.expect("Den här frågan behöver ett svar innan vi går vidare.")
    assert chat.question()[0] == 2
    # Inside an answer, the control character is removed and the rest kept.
    assert chat.answer("Ringsjö\x07skolan") == (3, label_of("forfattare").upper())

    # Template syntax is the teacher's text, never evaluated.
    author = "{{ 7*7 }} – arbetslag 8"
    assert chat.answer(author)[0] == 4

    # 5,000 characters in one message: collected as a long answer until /klar.
    sentence = "Frånvaron i åk 8 ökar under vårterminen och följs inte upp i tid. "
    long_answer = (sentence * (5000 // len(sentence) + 1))[:5000].rstrip()
    chat.send(long_answer)
    chat.expect(f"Jag har tagit emot {len(long_answer)} tecken.")
    chat.expect("[1] Klar – spara svaret")
    number, heading = chat.answer("/klar")
    assert (number, heading) == (5, label_of("mal").upper())

    # A personnummer: warned, asked to choose; rephrasing stores nothing until the new text.
    personnummer = luhn_valid_personnummer("081124", "238")
    chat.send(f"Eleven {personnummer} ska komma i tid varje måndag under hela terminen.")
    chat.expect("UNDVIK PERSONUPPGIFTER")
    chat.expect("Svaret verkar innehålla ett personnummer.")
    chat.expect("[1] Skriv om  [2] Behåll ändå")
    chat.send("1")
    chat.expect("Skriv svaret igen, utan personuppgifter.")
    assert chat.question()[0] == 5
    goal = "Alla elever i åk 8 ska komma i tid varje måndag under hela terminen."
    assert chat.answer(goal)[0] == 6

    chat.send("/exportera")
    chat.expect("märkt UTKAST")
    document = read_docx(saved_document(chat))
    chat.close()

    assert document.identity[label_of("titel")] == title
    assert document.identity[label_of("enhet")] == "Ringsjöskolan"
    assert document.identity[label_of("forfattare")] == author
    assert "49" not in document.identity[label_of("forfattare")]
    assert document.under[label_of("nulagesanalys")] == long_answer
    assert document.under[label_of("mal")] == goal
    assert personnummer not in document.text
    assert "\x07" not in document.text


def test_two_teachers_do_not_see_each_others_plans(tmp_path: Path, chats: list[Chat]) -> None:
    anna = start(chats, tmp_path, user="anna")
    bertil = start(chats, tmp_path, user="bertil")
    for chat in (anna, bertil):
        assert new_handlingsplan(chat)[0] == 1
    assert anna.answer("Annas närvaroplan för åk 7")[0] == 2
    assert bertil.answer("Bertils plan mot ströfrånvaro")[0] == 2
    assert anna.answer("Ringsjöskolan")[0] == 3

    bertil.send("/planer")
    plans = bertil.expect(PLANS)["lines"]
    assert "Bertils plan mot ströfrånvaro" in plans
    assert "Anna" not in plans
    assert plans.count("\n") == 0, plans  # exactly one plan
    bertil.close()
    anna.close()

    anna = start(chats, tmp_path, user="anna")
    welcome = anna.expect(re.compile(r"VÄLKOMMEN TILLBAKA!\n(?P<text>[^\n]+)\n"))
    assert "”Annas närvaroplan för åk 7”" in welcome["text"]
    assert f"2 av {len(PLANNING)} frågor besvarade" in welcome["text"]
    anna.send("3")  # Mina planer
    plans = anna.expect(PLANS)["lines"]
    assert "Annas närvaroplan för åk 7" in plans
    assert "Bertil" not in plans
    anna.close()
    assert "Bertil" not in anna.output
