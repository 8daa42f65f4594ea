"""The wheel is the program: built from this checkout, installed in a fresh virtualenv in a
temporary folder, and run from another folder where no checkout is in sight.

The new virtualenv gets only the wheel; its dependencies come from the test run's own
environment through a .pth file (no network, seconds instead of a minute). That folder is
appended to sys.path after the virtualenv's own site-packages, and the editable install's
hooks in it are not run, so every planbot module and text is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import docx
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh virtualenv holding only the planbot wheel."""
    root = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so the build leaves nothing in the checkout.
    source = root / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db*"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(root / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (root / "dist").glob("planbot-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps-from-test-env.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    return venv / "bin"


def run(
    bin_dir: Path, args: list[str], cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
    clean.update(HOME=str(cwd), XDG_DATA_HOME=str(cwd / "data"), **env)
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean,
        timeout=120,
    )


def test_the_wheel_runs_without_a_checkout(installed: Path, tmp_path: Path) -> None:
    where = run(
        installed,
        [
            "python",
            "-c",
            "import bot, dialogs.template as t, prompts; "
            "print(bot.__file__); print(t.PROMPTS_DIR); print(prompts.__file__)",
        ],
        tmp_path,
    )
    assert where.returncode == 0, where.stderr
    for line in where.stdout.splitlines():
        assert str(installed.parent) in line and str(REPO) not in line

    version = run(installed, ["planbot", "--version"], tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "planbot 0.1.0"

    helped = run(installed, ["planbot", "--help"], tmp_path)
    assert helped.returncode == 0 and "Telegram" in helped.stdout

    checked = run(installed, ["planbot", "check"], tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == "" and "3 mallar" in checked.stdout

    chat = run(
        installed,
        ["planbot", "chat", "--out", "dokument"],
        tmp_path,
        stdin="1\nNärvaro i åk 7\n/exportera\n",
    )
    assert chat.returncode == 0, chat.stderr
    (document,) = (tmp_path / "dokument").glob("*.docx")
    text = "\n".join(p.text for p in docx.Document(str(document)).paragraphs)
    assert "Närvaro i åk 7" in text and "UTKAST" in text.upper()


@pytest.mark.parametrize("given_in", ["environment", ".env"])
def test_the_installed_program_reads_its_texts_from_prompts_dir(
    installed: Path, tmp_path: Path, given_in: str
) -> None:
    custom = tmp_path / "egna"
    shutil.copytree(REPO / "prompts", custom, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    bot_texts = custom / "messages" / "bot.sv.yaml"
    bot_texts.write_text(
        bot_texts.read_text(encoding="utf-8").replace("console.bye: Hej då!", "console.bye: Adjö!"),
        encoding="utf-8",
    )
    env = {"PLANBOT_PROMPTS_DIR": str(custom)}
    if given_in == ".env":
        (tmp_path / ".env").write_text(f"PLANBOT_PROMPTS_DIR={custom}\n", encoding="utf-8")
        env = {}
    chat = run(installed, ["planbot", "chat"], tmp_path, stdin="", **env)
    assert chat.returncode == 0, chat.stderr
    assert "Adjö!" in chat.stdout and "Hej då!" not in chat.stdout
