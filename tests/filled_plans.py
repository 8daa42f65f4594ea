"""The three plan types filled in as the seeds were (Höör's åtgärdsplan, Norberg's
slutredovisning, a handlingsplan with every answer), for the document tests that look at the
pages: each is played through the real engine, so the plans are what a teacher would have."""

from __future__ import annotations

import asyncio

from dialogs.service import Conversation
from dialogs.store import MemoryStore
from dialogs.template import load_templates
from dialogs.types import PlanRecord
from exports.docx import render_document
from tests.helpers import Clock, Teacher

TEMPLATES = load_templates()


async def _played(template_name: str, script: object) -> PlanRecord:
    from tests.test_atgardsplan import play, start

    store = MemoryStore()
    teacher = Teacher(Conversation(store, TEMPLATES, render_document, clock=Clock()))
    await start(teacher, template_name)
    await play(teacher, script)  # type: ignore[arg-type]
    [(_, plan)] = list(store.plans.values())
    return plan


def filled_plans() -> dict[str, PlanRecord]:
    """template id → a finished plan of that template."""
    from tests.test_atgardsplan import hoor_conversation
    from tests.test_export_docx import ANSWERS, make_plan
    from tests.test_slutredovisning import norberg_conversation

    return {
        "handlingsplan": make_plan(dict(ANSWERS)),
        "atgardsplan": asyncio.run(_played("Åtgärdsplan", hoor_conversation())),
        "slutredovisning": asyncio.run(_played("Slutredovisning", norberg_conversation())),
    }
