"""Splitting a long message for platforms that cap message length (Telegram 4,096 characters,
Slack 3,000 per section block): at paragraph boundaries first, then lines, then words; and
fitting escaped text into such a limit (`fit_text`), written once for both channels."""

from __future__ import annotations

from collections.abc import Callable


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


def fit_text(
    text: str,
    limit: int,
    *,
    render: Callable[[str], str] = str,
    measure: Callable[[str], int] = len,
) -> list[str]:
    """`text` as rendered pieces (escaped, wrapped in tags: `render`) that each measure at
    most `limit` (`measure`: the platform's way of counting), split as `split_text` splits;
    blank pieces dropped. A piece that grows past the limit when rendered (Telegram's
    `&amp;`, Slack's `&lt;`) is split again, smaller, until it fits. Both chat channels'
    length limits go through here."""
    out: list[str] = []
    pending = [p for p in split_text(text, limit) if p.strip()]
    while pending:
        piece = pending.pop(0)
        rendered = render(piece)
        size = measure(rendered)
        if size <= limit:
            out.append(rendered)
            continue
        if len(piece) <= 1:
            raise ValueError(f"{piece!r} is longer than {limit} however it is split")
        smaller = max(1, min(len(piece) - 1, len(piece) * limit // size))
        pending[:0] = [p for p in split_text(piece, smaller) if p.strip()]
    return out
