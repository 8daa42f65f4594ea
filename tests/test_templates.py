"""Templates are data: every file in prompts/ loads, and a broken one stops start-up with the
file, the field and the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dialogs.template import PROMPTS_DIR, AnswerType, TemplateError, load_template, load_templates


def test_every_template_in_prompts_loads() -> None:
    templates = load_templates()
    assert "handlingsplan" in templates


def test_handlingsplan_follows_the_seed_order_and_wording() -> None:
    hp = load_templates()["handlingsplan"]
    assert [s.title for s in hp.steps] == [
        "Om planen",
        "Steg 1: Var är vi?",
        "Steg 2: Vart ska vi?",
        "Steg 3: Hur gör vi?",
        "Steg 4: Hur blev det?",
    ]
    labels = [item.label for _, item in hp.walk()]
    assert labels[3:] == [
        "Nulägesanalys",
        "Mål",
        "Aktivitet/ förändrat förhållningssätt/ förändrad rutin",
        "Målgrupp",
        "Genomförande",
        "När och hur ofta?",
        "Resurser/stöd/behov",
        "Detaljerad tidplan",
        "Planerad metod för ”datainsamling” inför uppföljning och utvärdering",
        "När?",
        "Vem/vilka?",
        "Resultat",
        "Analys och slutsatser",
        "Vi vill arbeta vidare med och/eller vidareutveckla",
    ]
    followup = [q.id for _, q in hp.walk() if getattr(q, "phase", None) == "followup"]
    assert followup == ["resultat", "analys", "vidare"]
    assert hp.question("tidplan").type is AnswerType.PERIOD
    seed = Path(__file__).resolve().parents[2] / "shared/seeds/001_40a5f8de898d33f9.txt"
    if seed.exists():
        text = " ".join(seed.read_text(encoding="utf-8").split())
        assert "Beskriv kortfattat er analys av nuläget, underbyggt med närvarodata etc." in text
        assert (hp.question("nulagesanalys").guidance or "").strip("()") in text


def _broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copytree(PROMPTS_DIR, tmp_path / "prompts")
    path = tmp_path / "prompts" / "handlingsplan.sv.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_broken_field_names_file_field_and_reason(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, "type: period", "type: kalender")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    message = str(info.value)
    assert str(path) in message
    assert "steps.3.items" in message and "type" in message
    assert "kalender" in message or "Input should be" in message


def test_broken_yaml_names_the_file(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, "id: handlingsplan", "id: [handlingsplan")
    with pytest.raises(TemplateError, match=r"handlingsplan\.sv\.yaml"):
        load_template(path)


@pytest.mark.slow  # runs planbot in a subprocess
def test_planbot_refuses_to_start_with_a_broken_template(tmp_path: Path) -> None:
    _broken_copy(tmp_path, "title_field: titel", "title_field: finns_inte")
    env = {**os.environ, "PLANBOT_PROMPTS_DIR": str(tmp_path / "prompts"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "templates"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "handlingsplan.sv.yaml" in done.stderr and "finns_inte" in done.stderr
