"""A realistic model reply (prose, a table, code blocks, math, links) for tests that need bulk."""

from __future__ import annotations

from typing import Any

MODEL_REPLY = r"""Here is how the three approaches compare for deduplicating a large CSV file.

| Approach | Memory | Speed on 10 M rows | Keeps order |
| --- | --- | --- | --- |
| `set()` of row hashes | O(n) | ~9 s | yes |
| `sort -u` | external | ~14 s | no |
| SQLite `INSERT OR IGNORE` | on disk | ~41 s | yes |

The hash approach is the usual choice when the distinct rows fit in memory:

```python
import csv, hashlib

def dedupe(src: str, dst: str) -> int:
    seen: set[bytes] = set()
    kept = 0
    with open(src, newline="") as f, open(dst, "w", newline="") as out:
        writer = csv.writer(out)
        for row in csv.reader(f):
            key = hashlib.blake2b("\x1f".join(row).encode(), digest_size=16).digest()
            if key not in seen:
                seen.add(key)
                writer.writerow(row)
                kept += 1
    return kept
```

From the shell, when order does not matter:

```bash
LC_ALL=C sort -u --parallel=4 -S 2G input.csv > unique.csv
```

With 16-byte digests, the chance of any collision among $n$ rows is about
$$p \approx \frac{n^2}{2 \cdot 2^{128}},$$
so for $n = 10^7$ it is around $1.5 \times 10^{-25}$: negligible.

See the [csv module](https://docs.python.org/3/library/csv.html) and
[GNU sort](https://www.gnu.org/software/coreutils/manual/html_node/sort-invocation.html)
for the details.
"""


def long_conversation(min_chars: int) -> list[dict[str, Any]]:
    """A conversation of user questions and the reply above, at least ``min_chars`` of JSON."""
    messages: list[dict[str, Any]] = []
    size = 0
    i = 0
    while size < min_chars:
        question = f"Question {i}: how would you deduplicate a CSV of 10 million rows?"
        messages.append({"id": f"u{i}", "message": {"role": "user", "content": question}})
        messages.append({"id": f"a{i}", "message": {"role": "assistant", "content": MODEL_REPLY}})
        size += len(question) + len(MODEL_REPLY) + 100
        i += 1
    messages.append({"id": f"u{i}", "message": {"role": "user", "content": "And in Rust?"}})
    return messages
