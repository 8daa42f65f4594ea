"""The whole app as a channel sees it: settings → SQLite file → engine → .docx."""

from __future__ import annotations

from bot.app import Runtime, start_runtime
from bot.settings import Settings
from dialogs.template import load_templates
from tests.docx_reading import open_docx, text_under
from tests.helpers import Teacher

HP = load_templates()["handlingsplan"]
PLANNING = [
    (path, item)
    for path, item in HP.walk()
    if getattr(item, "phase", None) is not None and item.phase.value == "planning"
]
ANSWERS = [item.example or "" for _, item in PLANNING]


async def new_handlingsplan(teacher: Teacher) -> None:
    await teacher.start()
    await teacher.press("Handlingsplan")


async def test_resumes_half_finished_plan_after_restart(app: Runtime, settings: Settings) -> None:
    teacher = Teacher(app.conversation)
    await new_handlingsplan(teacher)
    for text in ANSWERS[:6]:
        await teacher.say(text)
    await app.close()

    again = await start_runtime(settings)
    try:
        teacher = Teacher(again.conversation)
        await teacher.start()
        assert "6 av 14" in teacher.text()
        await teacher.press("Fortsätt")
        assert teacher.question.heading == "Målgrupp"
        for text in ANSWERS[6:]:
            await teacher.say(text)
        assert teacher.question.heading == "Stämmer planen?"
        await teacher.say("ja")
        [document] = [o.document for o in teacher.documents() if o.document]
        word = open_docx(document.data)
        identity = " ".join(c.text for t in word.tables for row in t.rows for c in row.cells)
        for (_, question), answer in zip(PLANNING, ANSWERS, strict=True):
            if question.label in ("Insatsens namn", "Skola/enhet", "Upprättad av"):
                assert answer in identity
            else:
                assert any(answer[:40] in t for t in text_under(word, question.label)), answer
    finally:
        await again.close()


async def test_every_answer_is_kept_in_the_history_even_after_an_edit(app: Runtime) -> None:
    teacher = Teacher(app.conversation)
    await new_handlingsplan(teacher)
    await teacher.say("Första namnet på insatsen")
    await teacher.say("/tillbaka")
    await teacher.say("Andra namnet på insatsen")
    [summary] = await app.conversation.summaries(teacher.user)
    history = await app.database.store.history(summary.id)
    assert [a.value.text for a in history if a.path == "titel"] == [
        "Första namnet på insatsen",
        "Andra namnet på insatsen",
    ]
    assert summary.title == "Andra namnet på insatsen"
