"""The documents a teacher asks for, through the real PTB Application against the emulator:
/exportera's copy at once, the other copy and a PDF one tap away, and /mina_uppgifter's zip."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING

import docx

from exports.docx import GUIDANCE_STYLE
from tests.e2e.telegram_emulator import Json, TelegramEmulator

if TYPE_CHECKING:
    from tests.e2e.telegram_fixtures import Teacher

pytest_plugins = ["tests.e2e.telegram_fixtures"]


def guidance(data: bytes) -> list[str]:
    document = docx.Document(io.BytesIO(data))
    return [
        p.text
        for p in document.paragraphs
        if p.style is not None and p.style.name == GUIDANCE_STYLE
    ]


def files(replies: list[Json]) -> list[Json]:
    return [m["document"] for m in replies if "document" in m]


async def test_exportera_sends_the_copy_and_one_tap_gives_the_pdf_and_the_other_copy(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    await teacher.says("/start")
    await teacher.says("Närvaro i åk 7")
    replies = await teacher.says("/exportera")
    [working] = files(replies)
    assert working["file_name"].startswith("UTKAST – Handlingsplan – Närvaro i åk 7")
    assert working["file_name"].endswith(".docx")
    assert guidance(await telegram_api.download(working["file_id"]))
    offer = teacher.message_with_button("Som PDF också")
    assert "arbetsexemplaret" in offer["text"]
    assert "Skola/enhet" in replies[-1]["text"]  # the question is asked again after it

    _, replies = await teacher.presses("Som PDF också", offer)
    [pdf] = files(replies)
    assert pdf["file_name"] == working["file_name"].removesuffix(".docx") + ".pdf"
    assert (await telegram_api.download(pdf["file_id"])).startswith(b"%PDF")

    _, replies = await teacher.presses("Inlämningsexemplar (utan vägledning)")
    [clean] = files(replies)
    assert "inlämningsexemplar" in clean["file_name"] and clean["file_name"].endswith(".docx")
    assert guidance(await telegram_api.download(clean["file_id"])) == []

    # The answers go on where they were.
    await teacher.says("Ringsjöskolan")
    assert "Ringsjöskolan" not in teacher.last_question()["text"]


async def test_mina_uppgifter_sends_a_zip_of_every_answer_and_documents_that_open(
    teacher: Teacher, telegram_api: TelegramEmulator
) -> None:
    assert "mina_uppgifter" in [c["command"] for c in telegram_api.commands]
    await teacher.says("/start")
    await teacher.says("Närvaro i åk 7")
    await teacher.says("/tillbaka")
    await teacher.says("Närvaro och trivsel i åk 7")  # the earlier version stays in the history
    await teacher.says("Ringsjöskolan")

    replies = await teacher.says("/mina_uppgifter")
    [archive_file] = files(replies)
    assert archive_file["file_name"].endswith(".zip")
    assert any(m.get("text", "").startswith("Här är allt som sparats om dig") for m in replies)
    archive = zipfile.ZipFile(io.BytesIO(await telegram_api.download(archive_file["file_id"])))
    data = json.loads(archive.read("planbot-data.json"))
    history = [h["value"]["text"] for plan in data["plans"] for h in plan["history"]]
    for answer in ("Närvaro i åk 7", "Närvaro och trivsel i åk 7", "Ringsjöskolan"):
        assert answer in history
    documents = [n for n in archive.namelist() if n.endswith(".docx")]
    assert len(documents) == 1
    text = "\n".join(
        p.text for p in docx.Document(io.BytesIO(archive.read(documents[0]))).paragraphs
    )
    assert "Närvaro och trivsel i åk 7" in text
