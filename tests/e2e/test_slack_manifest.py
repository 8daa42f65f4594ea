"""The manifest a school admin pastes gives the app exactly what the adapter uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.slack import SLASH_COMMAND

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yaml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def test_manifest_asks_for_exactly_the_scopes_the_adapter_needs() -> None:
    # chat:write (postMessage, update, postEphemeral), commands (/handlingsplan),
    # files:write (files_upload_v2), im:history (message.im), im:read (DM info),
    # im:write (conversations.open for the slash command and App Home buttons).
    assert sorted(manifest()["oauth_config"]["scopes"]["bot"]) == [
        "chat:write",
        "commands",
        "files:write",
        "im:history",
        "im:read",
        "im:write",
    ]


def test_manifest_runs_in_socket_mode_with_dm_events_home_and_the_command() -> None:
    m = manifest()
    settings = m["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert sorted(settings["event_subscriptions"]["bot_events"]) == [
        "app_home_opened",
        "message.im",
    ]
    home = m["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert home["messages_tab_read_only_enabled"] is False
    assert [c["command"] for c in m["features"]["slash_commands"]] == [SLASH_COMMAND]
