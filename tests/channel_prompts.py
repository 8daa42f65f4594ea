"""The prompts the channel tests run the real app with: the handlingsplan alone.

The channel tests drive one whole handlingsplan from the first message; with several
templates in prompts/ the bot first asks which kind of plan to write. Pointing
PLANBOT_PROMPTS_DIR (Settings.prompts_dir) here keeps those tests about the channel. The
template menu and the other templates are tested through the engine (test_atgardsplan.py,
test_slutredovisning.py).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from dialogs.template import PROMPTS_DIR


@functools.cache
def handlingsplan_only() -> Path:
    root = Path(tempfile.mkdtemp(prefix="planbot-prompts-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(PROMPTS_DIR / "messages", root / "messages")
    shutil.copy(PROMPTS_DIR / "handlingsplan.sv.yaml", root / "handlingsplan.sv.yaml")
    return root
