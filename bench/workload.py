"""The scripted reply every workload streams: ~4-character markdown tokens.

The text mixes paragraphs with a code block, a list and a table in every section of
about 200 tokens, and ends with a unique marker, so a page knows the last token is
visible when the marker is. Pure functions, no IO: the server and the tests share them.
"""

from __future__ import annotations

import random

TOKEN_CHARS = 4
SECTION_TOKENS = 200

_WORDS = [
    "stream",
    "render",
    "token",
    "block",
    "delta",
    "frame",
    "socket",
    "server",
    "client",
    "markdown",
    "parser",
    "browser",
    "latency",
    "buffer",
    "event",
    "message",
    "reply",
    "paragraph",
    "cost",
    "linear",
    "append",
    "table",
    "list",
    "code",
    "heading",
    "value",
    "result",
    "window",
    "thread",
    "budget",
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 12))]
    i = rng.randrange(len(words))
    words[i] = rng.choice((f"**{words[i]}**", f"`{words[i]}`", f"*{words[i]}*"))
    return " ".join(words).capitalize() + "."


def _section(rng: random.Random, n: int) -> str:
    para = " ".join(_sentence(rng) for _ in range(3))
    code = "\n".join(
        [
            "```python",
            f"def step_{n}(tokens, budget={n}):",
            "    total = 0",
            "    for token in tokens:",
            "        total += len(token)  # one delta",
            "    return total < budget",
            "```",
        ]
    )
    items = "\n".join(f"- {_sentence(rng)}" for _ in range(3))
    rows = "\n".join(
        f"| {rng.choice(_WORDS)} | {rng.randint(1, 999)} | {rng.choice(_WORDS)} |" for _ in range(3)
    )
    table = f"| name | count | note |\n|---|---:|---|\n{rows}"
    para2 = " ".join(_sentence(rng) for _ in range(2))
    return "\n\n".join([f"## Part {n}", para, code, items, table, para2])


def reply_text(tokens: int, marker: str, seed: int = 1) -> str:
    """A markdown reply of exactly ``tokens * TOKEN_CHARS`` characters ending in ``marker``."""
    rng = random.Random(seed)
    tail = f"\n\nThe end: {marker}"
    size = tokens * TOKEN_CHARS
    if size < len(tail):
        raise ValueError(f"{tokens} tokens cannot hold the end marker")
    sections: list[str] = []
    length = 0
    while True:
        section = _section(rng, len(sections) + 1)
        if length + len(section) + 2 + len(tail) > size:
            break
        sections.append(section)
        length += len(section) + 2
    body = "\n\n".join(sections)
    # Pad with plain words (no markup, so cutting one is harmless) to the exact size.
    room = size - len(tail) - len(body) - (2 if body else 0)
    filler = ""
    while len(filler) < room:
        filler += rng.choice(_WORDS) + " "
    filler = filler[:room].rstrip() if room > 0 else ""
    filler = filler.ljust(room, ".")
    text = f"{body}\n\n{filler}" if body else filler
    text = text + tail
    assert len(text) == size, (len(text), size)
    return text


def tokens_of(text: str) -> list[str]:
    """Split ``text`` into the tokens the handler sends, one per ``update_message``."""
    return [text[i : i + TOKEN_CHARS] for i in range(0, len(text), TOKEN_CHARS)]
