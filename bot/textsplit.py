"""Splitting a long message for platforms that cap message length (Telegram 4,096 characters,
Slack 3,000 per section block): at paragraph boundaries first, then lines, then words."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    if limit < 1:
        raise ValueError("limit must be positive")
    if len(text) <= limit:
        return [text]
    for sep in ("\n\n", "\n", " "):
        parts = text.split(sep)
        if len(parts) == 1:
            continue
        chunks: list[str] = []
        current = ""
        for part in parts:
            candidate = part if not current else current + sep + part
            if len(candidate) <= limit:
                current = candidate
                continue
            if current:
                chunks.append(current)
            if len(part) <= limit:
                current = part
            else:
                pieces = split_text(part, limit)
                chunks.extend(pieces[:-1])
                current = pieces[-1]
        if current:
            chunks.append(current)
        return chunks
    return [text[i : i + limit] for i in range(0, len(text), limit)]
