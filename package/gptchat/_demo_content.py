"""The texts of the offline demo (:mod:`gptchat.demo`): one reply per starter prompt.

Kept apart from the handler so the handler stays readable. Every reply is what a real
model might write for its prompt, so the demo shows the renderer on realistic content.
"""

from __future__ import annotations

import base64

CODE = r'''Here is the same small job, the ten most common words in a text file, in five languages.

## Python

`collections.Counter` does the counting; a regular expression finds the words.

```python
import re
from collections import Counter
from pathlib import Path


def top_words(path: str, n: int = 10) -> list[tuple[str, int]]:
    """The n most common words in a text file."""
    words = re.findall(r"[a-z']+", Path(path).read_text().lower())
    return Counter(words).most_common(n)


for word, count in top_words("moby-dick.txt"):
    print(f"{count:6}  {word}")
```

## TypeScript

On Node, a `Map` keeps the counts and a sort picks the top ten:

```typescript
import { readFileSync } from "node:fs";

export function topWords(path: string, n = 10): [string, number][] {
  const counts = new Map<string, number>();
  const words = readFileSync(path, "utf8").toLowerCase().match(/[a-z']+/g) ?? [];
  for (const word of words) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, n);
}

console.table(topWords("moby-dick.txt"));
```

## A shell pipeline

No program at all: split into one word per line, lower-case, count, sort.

```bash
tr -cs "[:alpha:]'" '\n' < moby-dick.txt |
  tr '[:upper:]' '[:lower:]' |
  sort | uniq -c | sort -rn | head -10
```

## SQL

If the words are already in a table (one row per word), the database does the work:

```sql
SELECT word, COUNT(*) AS occurrences
FROM words
GROUP BY word
ORDER BY occurrences DESC
LIMIT 10;
```

## Rust

The fastest of the five on a large file, and the borrow checker makes sure the `&str`
keys never outlive the text they point into:

```rust
use std::collections::HashMap;
use std::fs;

fn main() -> std::io::Result<()> {
    let text = fs::read_to_string("moby-dick.txt")?.to_lowercase();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for word in text.split(|c: char| !c.is_alphabetic() && c != '\'') {
        if !word.is_empty() {
            *counts.entry(word).or_default() += 1;
        }
    }
    let mut top: Vec<(&str, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1));
    for (word, n) in top.iter().take(10) {
        println!("{n:6}  {word}");
    }
    Ok(())
}
```

Each block has a **Copy** button, and `inline code` like `Counter.most_common()` stays in
the sentence. The languages load on first use, so a reply without code costs nothing.
'''

MATH = r"""## The Pythagorean theorem

In a right triangle with legs $a$ and $b$ and hypotenuse $c$ (the side opposite the right
angle):

$$
a^2 + b^2 = c^2
$$

For example, the legs $3$ and $4$ give $c = \sqrt{3^2 + 4^2} = \sqrt{25} = 5$.

## A proof sketch: rearranging four triangles

1. Draw a square with side $a + b$. Its area is $(a + b)^2$.
2. Place four copies of the triangle inside it, one in each corner, with their right
   angles at the corners. Their hypotenuses form a tilted square of side $c$ in the middle.
3. Count the area twice: the big square is the four triangles, each of area
   $\tfrac{1}{2}ab$, plus the tilted square.

$$
\begin{aligned}
(a + b)^2 &= 4 \cdot \tfrac{1}{2}ab + c^2 \\
a^2 + 2ab + b^2 &= 2ab + c^2 \\
a^2 + b^2 &= c^2 \qquad \blacksquare
\end{aligned}
$$

## Going further

- **The converse** holds too: if $a^2 + b^2 = c^2$, the angle between $a$ and $b$ is a
  right angle. Builders used a 3-4-5 rope to lay out square corners.
- **The law of cosines** covers every triangle, with $\gamma$ the angle between $a$ and $b$:
  $c^2 = a^2 + b^2 - 2ab\cos\gamma$. At $\gamma = 90^\circ$ the cosine is $0$ and the
  theorem comes back.
- **In $n$ dimensions** the length of a vector is
  $\lVert x \rVert = \sqrt{x_1^2 + x_2^2 + \cdots + x_n^2}$, the theorem applied once per axis.
"""

# (number, symbol, name, standard atomic weight, group, period, category, state at 20 °C)
_ELEMENTS = [
    (1, "H", "Hydrogen", "1.008", 1, 1, "nonmetal", "gas"),
    (2, "He", "Helium", "4.0026", 18, 1, "noble gas", "gas"),
    (3, "Li", "Lithium", "6.94", 1, 2, "alkali metal", "solid"),
    (4, "Be", "Beryllium", "9.0122", 2, 2, "alkaline earth metal", "solid"),
    (5, "B", "Boron", "10.81", 13, 2, "metalloid", "solid"),
    (6, "C", "Carbon", "12.011", 14, 2, "nonmetal", "solid"),
    (7, "N", "Nitrogen", "14.007", 15, 2, "nonmetal", "gas"),
    (8, "O", "Oxygen", "15.999", 16, 2, "nonmetal", "gas"),
    (9, "F", "Fluorine", "18.998", 17, 2, "halogen", "gas"),
    (10, "Ne", "Neon", "20.180", 18, 2, "noble gas", "gas"),
    (11, "Na", "Sodium", "22.990", 1, 3, "alkali metal", "solid"),
    (12, "Mg", "Magnesium", "24.305", 2, 3, "alkaline earth metal", "solid"),
    (13, "Al", "Aluminium", "26.982", 13, 3, "post-transition metal", "solid"),
    (14, "Si", "Silicon", "28.085", 14, 3, "metalloid", "solid"),
    (15, "P", "Phosphorus", "30.974", 15, 3, "nonmetal", "solid"),
    (16, "S", "Sulfur", "32.06", 16, 3, "nonmetal", "solid"),
    (17, "Cl", "Chlorine", "35.45", 17, 3, "halogen", "gas"),
    (18, "Ar", "Argon", "39.95", 18, 3, "noble gas", "gas"),
    (19, "K", "Potassium", "39.098", 1, 4, "alkali metal", "solid"),
    (20, "Ca", "Calcium", "40.078", 2, 4, "alkaline earth metal", "solid"),
    (21, "Sc", "Scandium", "44.956", 3, 4, "transition metal", "solid"),
    (22, "Ti", "Titanium", "47.867", 4, 4, "transition metal", "solid"),
    (23, "V", "Vanadium", "50.942", 5, 4, "transition metal", "solid"),
    (24, "Cr", "Chromium", "51.996", 6, 4, "transition metal", "solid"),
    (25, "Mn", "Manganese", "54.938", 7, 4, "transition metal", "solid"),
    (26, "Fe", "Iron", "55.845", 8, 4, "transition metal", "solid"),
]

TABLE = (
    "The first 26 elements, hydrogen to iron, in order of atomic number (the state is at "
    "20 °C):\n\n"
    "| # | Symbol | Name | Atomic weight | Group | Period | Category | State |\n"
    "|--:|:-:|---|--:|--:|--:|---|---|\n"
    + "".join(
        f"| {n} | **{sym}** | {name} | {weight} | {group} | {period} | {cat} | {state} |\n"
        for n, sym, name, weight, group, period, cat, state in _ELEMENTS
    )
    + "\nA few patterns stand out:\n\n"
    "- **Group 18** (He, Ne, Ar) are the noble gases: full outer shells, almost no chemistry.\n"
    "- Below hydrogen, **group 1** (Li, Na, K) are the alkali metals: one outer electron,\n"
    "  eager to lose it, so they react with water, faster as you go down the group.\n"
    "- Only **8 of the 26** are gases at room temperature, and none is a liquid: the first\n"
    "  liquid element is bromine, number 35.\n"
    "- From scandium on, period 4 fills the *d* orbitals: the transition metals begin.\n\n"
    "Wide tables scroll sideways on a narrow screen instead of squeezing their columns.\n"
)

#: Made-up weather for the pretend ``get_weather`` tool (the demo is offline).
WEATHER: dict[str, dict[str, object]] = {
    "Paris": {"temperature_c": 18, "sky": "partly cloudy", "wind_kmh": 14, "rain_chance": 20},
    "Tokyo": {"temperature_c": 24, "sky": "light rain", "wind_kmh": 9, "rain_chance": 80},
    "New York": {"temperature_c": 12, "sky": "sunny", "wind_kmh": 27, "rain_chance": 5},
    "London": {"temperature_c": 14, "sky": "overcast", "wind_kmh": 18, "rain_chance": 55},
    "Sydney": {"temperature_c": 21, "sky": "clear", "wind_kmh": 12, "rain_chance": 0},
    "Berlin": {"temperature_c": 11, "sky": "drizzle", "wind_kmh": 16, "rain_chance": 65},
}
DEFAULT_CITIES = ["Paris", "Tokyo", "New York"]


def weather_answer(reports: list[dict[str, object]]) -> str:
    """The final answer of the weather prompt, written from the tool results."""
    rows = "".join(
        f"| {r['city']} | {r['temperature_c']} °C | {r['sky']} | {r['wind_kmh']} km/h"
        f" | {r['rain_chance']} % |\n"
        for r in reports
    )
    warmest = max(reports, key=lambda r: int(str(r["temperature_c"])))
    driest = min(reports, key=lambda r: int(str(r["rain_chance"])))
    names = ", ".join(str(r["city"]) for r in reports)
    return (
        f"I called `get_weather` for {names} at once (the calls above ran in parallel, and "
        "each block holds its arguments and result). Right now:\n\n"
        "| City | Temperature | Sky | Wind | Chance of rain |\n"
        "|---|--:|---|--:|--:|\n"
        f"{rows}\n"
        f"**{warmest['city']}** is the warmest at {warmest['temperature_c']} °C, and "
        f"**{driest['city']}** the driest, with a {driest['rain_chance']} % chance of rain. "
        "Pack an umbrella wherever the chance is above 50 %.\n\n"
        "> These numbers are made up: the demo runs offline. With a real model, your "
        "handler runs the tools the model asks for and sends each result back with "
        '`app.update_message({"role": "tool", "tool_call_id": ..., "content": ...})`.\n'
    )


REASONING = (
    "The user asks me to think before answering, so a question that needs thought: how "
    "many times a day do the hour and minute hands of a clock overlap? The naive answer "
    "is 24, once per hour, but that can't be right: between 11:00 and "
    "1:00 there is only one overlap, at 12:00.\n\n"
    "Speeds: the minute hand turns 360° per hour, the hour hand 30° per hour. "
    "The minute hand gains 330° per hour on the hour hand. They overlap each time it "
    "has gained a full 360°, so every 360/330 = 12/11 hours, about 1 h 5 min 27 s.\n\n"
    "In 12 hours: 12 / (12/11) = 11 overlaps. In 24 hours: 22.\n\n"
    "Check: the overlaps are at k × 12/11 hours for k = 0..10: 12:00, 1:05:27, 2:10:55, "
    "... 10:54:33, then k = 11 gives 12:00 again, which starts the next cycle. "
    "So 11 per half day, 22 per day. I'll show the rate in math and list the times."
)

REASONING_ANSWER = r"""How many times a day do a clock's hands overlap? **22 times a day**, not 24.

The minute hand turns $360^\circ$ an hour and the hour hand $30^\circ$, so the minute hand
gains $330^\circ$ an hour. It laps the hour hand every

$$
\frac{360^\circ}{330^\circ/\text{h}} = \frac{12}{11}\ \text{h}
\approx 1\ \text{h}\ 5\ \text{min}\ 27\ \text{s}
$$

which makes $12 \div \tfrac{12}{11} = 11$ overlaps every 12 hours:

| # | Time | Hours after 12:00 |
|--:|--:|--:|
| 1 | 12:00:00 | $0$ |
| 2 | 1:05:27 | $\tfrac{12}{11}$ |
| 3 | 2:10:55 | $\tfrac{24}{11}$ |
| 4 | 3:16:22 | $\tfrac{36}{11}$ |
| 5 | 4:21:49 | $\tfrac{48}{11}$ |
| 6 | 5:27:16 | $\tfrac{60}{11}$ |
| 7 | 6:32:44 | $\tfrac{72}{11}$ |
| 8 | 7:38:11 | $\tfrac{84}{11}$ |
| 9 | 8:43:38 | $\tfrac{96}{11}$ |
| 10 | 9:49:05 | $\tfrac{108}{11}$ |
| 11 | 10:54:33 | $\tfrac{120}{11}$ |

The hour from 11:00 to 12:00 has no overlap of its own: the hands meet only at 12:00,
which starts the next cycle. Twice a day, that makes two fewer than the naive 24.

*The reasoning above streamed as `reasoning_content` deltas, the field reasoning models
such as DeepSeek-R1 send; gptchat folds it into the **Thinking** block.*
"""

# A lighthouse at dusk, drawn small: the picture travels inside the message.
_PICTURE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="480" height="270"
 viewBox="0 0 480 270">
<defs>
<linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
<stop offset="0" stop-color="#1d2657"/><stop offset=".55" stop-color="#a8507e"/>
<stop offset="1" stop-color="#f4a86a"/></linearGradient>
<linearGradient id="sea" x1="0" y1="0" x2="0" y2="1">
<stop offset="0" stop-color="#34507f"/><stop offset="1" stop-color="#111d3b"/></linearGradient>
</defs>
<rect width="480" height="270" fill="url(#sky)"/>
<g fill="#fff" opacity=".85"><circle cx="40" cy="30" r="1.4"/><circle cx="150" cy="22" r="1"/>
<circle cx="230" cy="48" r="1.3"/><circle cx="300" cy="18" r="1"/><circle cx="420" cy="36" r="1.5"/>
<circle cx="370" cy="70" r="1"/><circle cx="20" cy="90" r="1"/></g>
<circle cx="350" cy="192" r="36" fill="#ffd37e"/>
<path d="M107 92 480 30v110z" fill="#fff4c8" opacity=".22"/>
<rect y="190" width="480" height="80" fill="url(#sea)"/>
<path d="M316 202h68M326 214h48M336 226h28M344 238h12" stroke="#ffd37e" stroke-width="3"
 stroke-linecap="round" opacity=".55"/>
<path d="M0 198 34 168l56 4 60 10 32 16z" fill="#1a1a30"/>
<path d="M84 174 90 100h14l6 74z" fill="#f3f0ea"/>
<path d="M87 142h20l1 12H86zM89 114h16l1 12H88z" fill="#d4473c"/>
<rect x="88" y="86" width="18" height="14" rx="2" fill="#ffe7a0"/>
<path d="M84 86 97 73l13 13z" fill="#d4473c"/>
</svg>"""

PICTURE_URL = "data:image/svg+xml;base64," + base64.b64encode(
    " ".join(_PICTURE_SVG.split()).encode()
).decode("ascii")

PICTURE_BEFORE = "Here is a lighthouse at dusk, drawn for you:\n\n"
PICTURE_IMAGE = f"![A lighthouse on a cliff at dusk, its beam sweeping over the sea]({PICTURE_URL})"
PICTURE_AFTER = (
    "\n\nThe picture is a small SVG inlined in the reply as a `data:` URL, so it needs no "
    "network. Images like this one show at once: they reach no server. A remote image, "
    "`![chart](https://example.com/chart.png)`, waits for a click instead, because loading "
    "it would tell its host that, and when, the reply was read; list the hosts you trust "
    'in `set_config({"image_hosts": [...]})` to load theirs at once.\n'
)

ERROR_PARTIAL = "Let me ask the upstream model about that. The first part of the answer is "
ERROR_MESSAGE = (
    "the demo's pretend upstream model dropped the connection (this prompt fails once on "
    "purpose: press Retry)"
)
ERROR_RETRIED = """Second time lucky: this is the retry, and it worked.

What happened:

1. The first attempt streamed a few words, then the handler raised `ConnectionError`.
2. gptchat caught it, ended the run as an error and showed the message with a **Retry**
   button (the text so far stays marked *Incomplete*); the server kept running.
3. **Retry** sent the same conversation again. The demo remembered, by
   `app.context().conversation_id`, that this turn had failed once, so it answered.

Your handler needs nothing special for this: let exceptions propagate.

```python
from openai import OpenAI

from gptchat import app

client = OpenAI()


@app.handle_send_message
def on_message(messages):
    # A timeout or a provider error raised here shows in the chat, with Retry.
    app.stream(client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True))
```
"""

LONG = """# How a streamed reply gets from the model to your screen

A chat reply looks like one piece of text that types itself out. Underneath, it is a few
thousand small events travelling through four programs: the model server, your handler,
the gptchat server and the browser. This is a tour of that path, stage by stage, with the
trade-offs each stage makes. It is also, fittingly, a long reply: watch the scrollbar.

## 1. The model writes tokens

A language model does not produce words. It produces **tokens**, pieces of text from a
fixed vocabulary of tens of thousands of entries: common words are one token, rarer words
are split into several, and a space usually belongs to the token after it. English prose
averages about four characters per token, which is why this demo cuts its texts into
four-character pieces.

Generation happens one token at a time. The model reads the whole conversation, computes
a probability for every token in its vocabulary, picks one, appends it, and repeats. Two
consequences matter for the interface:

- **The first token is slow, the rest are fast.** Reading the prompt (the *prefill*) takes
  most of the time before anything appears; after that, tokens arrive at a steady rate,
  typically 30 to 150 per second for hosted models.
- **The model cannot go back.** Every token is final the moment it is sent. A reply that
  opens a code fence will close it later, but for a while the text on screen is
  unfinished markdown, and the renderer has to cope.

## 2. Deltas: the wire format

With `stream=True`, an OpenAI-compatible API answers with server-sent events. Each event
carries a *chunk*, and each chunk carries a **delta**: the change to the message since the
previous chunk. The first delta names the role; later ones add text:

```json
{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
{"choices": [{"index": 0, "delta": {"content": "Hel"}}]}
{"choices": [{"index": 0, "delta": {"content": "lo!"}}]}
{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
```

Deltas are small, which keeps latency low, but they are not self-contained: a delta means
nothing without the ones before it. Every program along the path has to **merge** them.

## 3. Merging deltas into a message

The merging rules are simple, and every client implements the same ones:

1. String fields **concatenate**: `content`, and extras such as `reasoning_content`.
2. Tool calls **merge by index**: the first delta for index 0 carries the call's id and
   function name, later deltas for index 0 append to its `arguments` string.
3. Everything else **replaces** the previous value.

Tool-call arguments deserve a note. They are JSON, streamed as text, so for most of the
stream they are *invalid* JSON: `{"city": "Par` is a prefix, not a document. A UI that
wants to show arguments as they arrive needs a tolerant parser that closes the open
strings and brackets of a prefix. gptchat's browser does exactly that, which is why the
arguments of a running tool call fill in live instead of appearing at the end.

In gptchat, your handler sends deltas with `app.update_message(delta, id=...)`. Updates
with the same id merge into one message, with the rules above, on the server and again in
the browser. If you relay an OpenAI stream, `app.stream(...)` does the loop for you and
hands back the merged message at the end.

## 4. Getting the pieces to the browser

Sending every token as its own network message works, but it wastes effort. A fast model
can produce a few hundred tokens per second, each wrapped in a WebSocket frame and a
Socket.IO packet and parsed by the browser, and the browser would repaint for most of
them. The fix is **coalescing**: the server collects the deltas of one message for a
short window, 16 ms by default (one frame at 60 Hz), and sends them as a single event.
You see the same text; the browser does a fraction of the work.

Each event also carries a **sequence number**. Networks preserve order on one connection,
but a reply can outlive its connection: the laptop sleeps, the Wi-Fi drops, the tab
reloads. When the browser reconnects, it tells the server which conversation it is
showing, and the server sends a snapshot of the reply so far, then the live events after
it. Sequence numbers let the browser check that nothing was lost or applied twice.

## 5. Rendering markdown while it grows

The naive renderer turns the whole message into HTML on every update. For a short reply
nobody notices. For a reply like this one, with a few thousand tokens, it means parsing
the same text thousands of times, and the cost grows with the square of the length: the
last updates are the slowest, and the page starts to stutter just when the reader is
most invested.

A streaming renderer exploits the fact that markdown is mostly made of independent
**blocks**: paragraphs, headings, lists, code fences, tables. Once a block is followed by
another one, it is final. So the renderer:

- keeps the finished blocks as they are, already in the DOM;
- re-renders only the **last, open block** on each update;
- treats an unclosed code fence or math block as *in progress*, shown as code or math
  rather than as broken text;
- highlights code and typesets math once a block is complete, and puts that off when a
  burst of text arrives, so the text reaches the screen first.

Every block passes through an HTML sanitizer before it reaches the page. Model output is
untrusted input: a prompt injection can make a model write `<img src=x onerror=...>` or a
`javascript:` link as easily as a poem. gptchat shows raw HTML as text, makes dangerous
links inert, and holds remote images behind a click.

## 6. Tool calls in the middle of a stream

When a model decides to call a tool, the stream changes shape: instead of `content`, the
deltas carry `tool_calls`. Several calls can arrive in one message, their argument
fragments interleaved. The reply then pauses while your code runs the tools, and each
result goes back as a message with the role `tool` and the id of the call it answers.
Finally the model is asked again, with the results in the conversation, and streams the
answer.

For the interface this means three states per call, each worth showing:

1. **Running**: the name is known, the arguments are still streaming.
2. **Done**: the result has arrived; it belongs *inside* the call's block, not as a
   separate chat bubble.
3. **Failed**: the run ended before a result came back.

## 7. Reasoning models

Some models think before they answer, and some providers stream that thinking. It arrives
first, in a field of its own (`reasoning_content` for DeepSeek and several open-weight
servers, `reasoning` for others), followed by the answer in `content`. Both belong to the
same message, so the merging rules do not change: the field concatenates like any other
string.

The interface question is what to do with it. The thinking can run to thousands of tokens,
and most readers want the answer, not the scratch work. The usual design, and gptchat's:

- show the thinking **while it streams**, in a muted block, so the wait has something to
  look at;
- **fold it away** once the answer starts, under a *Thinking* summary that opens on a click;
- never send it back to the model: providers refuse earlier reasoning as input, so the
  handler gets the conversation without it.

Reasoning also changes the timing. A model can think in silence for a minute before its
first visible token, and a server that gives up on a quiet stream after a few seconds would
cut it off. Timeouts have to allow for long silences, and a Stop press has to work during
them too, by closing the stream rather than waiting for the next token.

## 8. Stopping, errors and retries

A person who sees the reply going wrong presses **Stop**, and expects it to stop now, not
after the model has finished a five-hundred-token paragraph in the background. Stopping
well takes cooperation from each stage:

- the browser sends a stop event for its conversation;
- the server marks the run as stopping, and the handler's next `update_message()` raises
  `StopGeneration`, which unwinds it cleanly;
- a relayed OpenAI stream is **closed**, so the provider stops generating, and billing.

Errors follow the same path in the other direction. An exception in the handler ends the
run as failed; the text so far stays on screen, marked incomplete, with the error and a
**Retry** button. Retry sends the conversation up to the last user message again. Nothing
crashes, and the server keeps serving everyone else.

## 9. What it costs

Some rough numbers for one reply of two thousand tokens:

| Stage | Work per reply | Where it can go wrong |
|---|---|---|
| Model | 2,000 forward passes | a slow first token on a long prompt |
| Handler | 2,000 calls to `update_message()` | blocking work between updates |
| Server | at most one event per message every 16 ms | a slow reader growing memory |
| Browser | one render of the open block per event | re-rendering the whole message |

None of these is expensive on its own. Trouble comes from the multiplications: a renderer
that does work proportional to the message length, on every event, for every message in
a long conversation.

## 10. A checklist for your own app

If you build on gptchat, most of this is done for you. What is left is in your handler:

- **Stream.** Pass `stream=True` and relay the stream; a reply that appears at once after
  twenty seconds of nothing feels broken, even when it is fast.
- **Let exceptions propagate.** The user sees the error and can retry; swallowing it
  leaves a reply that simply stops.
- **Don't catch `StopGeneration`.** It is how Stop reaches your code.
- **Send tool results with their call id**, so each lands in the right block.
- **Keep per-conversation state bounded.** `app.context().conversation_id` is stable for
  the life of a conversation; an unbounded dict keyed by it is a slow memory leak.

## Summary

A streamed reply is a sequence of deltas merged into one message at every stage. The
model writes tokens; the handler forwards them; the server batches and numbers them; the
browser merges them and renders only what changed. Each stage is simple. Doing all of
them carefully is what makes a long answer like this one scroll smoothly to the end.
"""

FREE_TEXT_INTRO = """This is gptchat's **offline demo**: no model is connected, so I can't
really answer that. What I can do is show you what the chat window renders, streamed the
way a real model streams. Try one of the prompts below (click one in a new chat, or type
it):
"""

PROMPT_DESCRIPTIONS = [
    ("code", "highlighted code in Python, TypeScript, shell, SQL and Rust, with Copy buttons"),
    ("math", "inline and display math typeset with KaTeX, with a proof"),
    ("table", "a 26-row table that scrolls on small screens"),
    ("weather", "three tool calls in parallel, their streamed arguments and results"),
    ("think", "a reasoning model's Thinking block, then its answer"),
    ("image", "a picture inside the reply"),
    ("long", "a long answer, streamed fast, with headings, lists and a table"),
    ("error", "an error in the handler, and a Retry that succeeds"),
    ("agent", "an agent that asks you a question, then asks before it sends an email"),
]

AGENT_QUESTION = "Happy to. **Who** should the email go to?"
#: The people the agent offers, and their addresses.
AGENT_PEOPLE = {
    "Ada Lovelace": "ada@example.com",
    "Grace Hopper": "grace@example.com",
    "Alan Turing": "alan@example.com",
}
AGENT_SUBJECT = "Hello from gptchat"
AGENT_BODY = "Hi! This email was drafted by the gptchat demo, and sent only once you approved."
AGENT_CONFIRM = "Send this email? You can edit the arguments first."
AGENT_DENIED = "Understood: I did **not** send it. Tell me what to change and I will try again."


def agent_sent(to: str) -> str:
    """The agent's last words once the (pretend) email is out."""
    return (
        f"Done: the email to `{to}` is sent. Nothing really left this machine: this is the "
        "offline demo, and `send_email` here only pretends.\n\n"
        "The question, the approval and this reply are part of the conversation the model "
        "would see next turn."
    )


FREE_TEXT_OUTRO = """
To chat with a real model, stop this server and run it again with a key:
`OPENAI_API_KEY=sk-... python -m gptchat`. Or connect your own code:

```python
from gptchat import app

@app.handle_send_message
def on_message(messages):
    app.update_message({"role": "assistant", "content": "Hello!"})

app.run_app()
```
"""
