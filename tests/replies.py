"""Realistic model replies (prose, a table, code blocks, math, links) for tests.

``MODEL_REPLY`` gives bulk to payloads; ``REPLY`` and :func:`tokens` stream like a model.
"""

from __future__ import annotations

import re
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


REPLY = """\
Here is how I would speed up the **CSV import**, step by step.

## 1. Measure first

Profile the import on a real file before changing anything; `cProfile` is enough:

```python
import cProfile
import pstats

with cProfile.Profile() as profile:
    load_rows("orders.csv")
pstats.Stats(profile).sort_stats("cumulative").print_stats(10)
```

| step | time (s) | share |
|---|---:|---:|
| parse | 4.2 | 61 % |
| validate | 1.9 | 27 % |
| insert | 0.8 | 12 % |

## 2. Parse in bulk

Most of the time goes to parsing one row at a time. Reading the file with
[pandas](https://pandas.pydata.org/docs/) in chunks cuts it by about $n/k$ calls,
where $k$ is the chunk size:

```python
for chunk in pd.read_csv("orders.csv", chunksize=50_000):
    insert(chunk.to_dict("records"))
```

The expected cost then follows

$$
T(n) = \\frac{n}{k}\\,c_{\\text{call}} + n\\,c_{\\text{row}}
$$

so a larger $k$ helps until memory runs out.

```sql
CREATE INDEX orders_customer ON orders (customer_id);
```

Let me know the file size and I can suggest a chunk size (see also the
[SQLite docs](https://www.sqlite.org/lang_createindex.html)).
"""


def tokens(text: str = REPLY) -> list[str]:
    """Split ``text`` the way a model streams it: a word or a space-led word at a time."""
    return re.findall(r"\s*\S+|\s+", text)
