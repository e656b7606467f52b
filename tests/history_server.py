"""A gptchat server keeping its history in the SQLite file named on the command line.

For the crash test (``tests/integration/test_history_durability.py``), which kills it
with SIGKILL in the middle of a reply and starts it again on the same file:
``python tests/history_server.py sqlite:///history.db``. A message "slow" gets
a reply that streams a word every 20 ms and never ends; any other gets "Re: <it>".
"""

from __future__ import annotations

import sys
import time
from typing import Any

from gptchat import ChatApp

chat = ChatApp(store=sys.argv[1], coalesce_interval=0.0)


@chat.handle_send_message
def handler(messages: list[dict[str, Any]]) -> None:
    text = messages[-1]["content"]
    mid = chat.new_id()
    chat.update_message({"role": "assistant", "content": "Re: "}, id=mid)
    if text != "slow":
        chat.update_message({"content": text}, id=mid)
        return
    for i in range(1_000_000):
        chat.update_message({"content": f"w{i} "}, id=mid)
        time.sleep(0.02)


if __name__ == "__main__":
    chat.run_app(port=0)
