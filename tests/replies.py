"""A realistic model reply for tests of streaming: prose, a table, code blocks, math, links."""

from __future__ import annotations

import re

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
