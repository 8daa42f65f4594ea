"""Slack, end to end over HTTP: "mina uppgifter" as bare words uploads the zip of everything
stored about the teacher; /exportera's buttons upload the other copy and a PDF."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import docx

from tests.e2e.slack_fixtures import slack_app
from tests.e2e.test_slack_http import TITLE, start_plan


async def test_the_bare_words_mina_uppgifter_upload_the_zip(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        await env.say("Närvaro i åk 7")
        await env.say("tillbaka")
        await env.say(TITLE)  # the title rewritten: both versions are in the zip
        replies = await env.say("mina uppgifter")
        assert any("Här är allt som sparats om dig" in m.visible_text() for m in replies)
        [uploaded] = env.teacher.files()
        assert uploaded.filename.endswith(".zip") and uploaded.data
        archive = zipfile.ZipFile(io.BytesIO(uploaded.data))
        data = json.loads(archive.read("planbot-data.json"))
        history = [h["value"]["text"] for plan in data["plans"] for h in plan["history"]]
        assert "Närvaro i åk 7" in history and TITLE in history
        [name] = [n for n in archive.namelist() if n.endswith(".docx")]
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(archive.read(name))).paragraphs)
        assert TITLE in text


async def test_the_export_buttons_upload_a_pdf_and_the_clean_copy(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        await start_plan(env)
        await env.say(TITLE)
        replies = await env.say("exportera")
        [working] = env.teacher.files()
        assert working.filename.endswith(".docx")
        [offer] = [m for m in replies if "Som PDF också" in m.button_labels()]
        await env.press("Som PDF också", offer)
        pdf = env.teacher.files()[-1]
        assert pdf.filename == working.filename.removesuffix(".docx") + ".pdf"
        assert pdf.data is not None and pdf.data.startswith(b"%PDF")
        await env.press("Inlämningsexemplar (utan vägledning)")  # offered with the PDF
        clean = env.teacher.files()[-1]
        assert "inlämningsexemplar" in clean.filename and clean.filename.endswith(".docx")
