"""``python -m gptchat``: see :mod:`gptchat.cli`."""

from .cli import main

raise SystemExit(main())
