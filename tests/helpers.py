"""A teacher who talks to the engine: sends text, presses buttons, reads replies.

Used by the engine tests (in memory) and the storage-backed tests alike; it knows nothing of
any platform, only Inbound and Outbound.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from dataclasses import dataclass, field

import docx

from dialogs.service import Conversation
from dialogs.template import Template
from dialogs.types import Inbound, InboundKind, Outbound, UserRef

_keys = itertools.count(1)


@dataclass
class Clock:
    now: dt.datetime = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Teacher:
    conversation: Conversation
    user: UserRef = field(default_factory=lambda: UserRef(channel="test", external_id="anna"))
    replies: list[Outbound] = field(default_factory=list)
    last: list[Outbound] = field(default_factory=list)

    async def send(self, inbound: Inbound) -> list[Outbound]:
        self.last = await self.conversation.handle(inbound)
        self.replies.extend(self.last)
        return self.last

    def inbound(self, kind: InboundKind, **fields: str) -> Inbound:
        return Inbound(user=self.user, kind=kind, key=f"test:{next(_keys)}", **fields)

    async def start(self) -> list[Outbound]:
        return await self.send(self.inbound(InboundKind.START))

    async def say(self, text: str) -> list[Outbound]:
        return await self.send(self.inbound(InboundKind.TEXT, text=text))

    async def press(self, label: str, outs: list[Outbound] | None = None) -> list[Outbound]:
        """Press the button labelled `label` (prefix match) on the newest message having it."""
        for out in reversed(outs if outs is not None else self.replies):
            for choice in out.choices:
                if choice.label.startswith(label):
                    return await self.send(self.inbound(InboundKind.CHOICE, choice=choice.value))
        raise AssertionError(
            f"no button {label!r} among {[c.label for o in self.replies for c in o.choices]}"
        )

    @property
    def question(self) -> Outbound:
        """The newest question asked."""
        for out in reversed(self.last):
            if out.is_question:
                return out
        raise AssertionError(f"no question in the last reply: {[o.text for o in self.last]}")

    def text(self) -> str:
        return "\n".join(
            " ".join(filter(None, [o.progress, o.heading, o.text, o.note])) for o in self.last
        )

    def documents(self) -> list[Outbound]:
        return [o for o in self.replies if o.document is not None]


def planning_answers(template: Template) -> dict[str, str]:
    """A valid answer for every planning question, taken from the template's examples."""
    return {
        path: item.example or "Ett svar som är långt nog för frågan."
        for path, item in template.walk()
        if hasattr(item, "example") and getattr(item, "phase", "planning") == "planning"
    }


def docx_paragraphs(data: bytes) -> list[tuple[str, str]]:
    document = docx.Document(io.BytesIO(data))
    return [(p.style.name if p.style is not None else "", p.text) for p in document.paragraphs]
