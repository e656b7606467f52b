"""gunicorn settings for a :class:`~gptchat.ChatApp`: threaded, one worker, drained on SIGTERM.

Use it with ``-c python:gptchat.gunicorn_conf``; options on the command line
win over these::

    gunicorn -c python:gptchat.gunicorn_conf -b 127.0.0.1:8000 'myapp:app'

Why these values:

* ``gthread``, no eventlet or gevent: gptchat runs Flask-SocketIO in threading
  mode with simple-websocket, whose WebSocket works under gunicorn's threaded
  worker (Flask-SocketIO's deployment guide, "Gunicorn Web Server":
  ``gunicorn -w 1 --threads 100 module:app``; flask-sock's "Supported web
  servers": each open WebSocket holds one of the worker's threads).
* ``threads = 256``: so one thread per open tab (a WebSocket lives as long as the
  tab), up to ``max_connections`` (200 by default), with threads to spare for
  page loads. Raise both together.
* ``workers = 1``: the replies under way live in the process's memory, and
  gunicorn hands each new connection to any worker, so a tab that reconnects
  (a reload, a network blip) may reach a worker that never heard of its reply.
  Run more processes as more gunicorns, each ``-w 1`` on its own port, behind a
  load balancer (``deploy/nginx.conf``), as Flask-SocketIO advises
  (miguelgrinberg/Flask-SocketIO discussions #1940 and #2045). Several workers
  in one gunicorn work once replies are shared through a message queue, because
  the browser connects over WebSocket only: each connection lives in one worker
  from its first request to its last, so no sticky sessions are needed (#2045:
  WebSocket-only clients with a message queue; long-polling would break).
* ``graceful_timeout = 30``: on SIGTERM a worker stops accepting, lets the
  replies under way finish for up to ``graceful_timeout`` less the handlers'
  ``shutdown_timeout`` and 2 s, stops the rest (their text kept, the tab told
  they stopped), then closes its sockets, so the tabs reconnect elsewhere and
  the worker exits before gunicorn would kill it (``gptchat._serving.drain``).
  Without this, the threaded worker waits for its open WebSockets, which never
  end on their own, until gunicorn kills it at ``graceful_timeout``, cutting
  every reply.

The master gives its workers one ``$GPTCHAT_SECRET_KEY`` when none is set, so a
tab signed in through one worker is signed in on all; several gunicorns must be
given the same one.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from gptchat._auth import SECRET_ENV

worker_class = "gthread"
workers = 1
threads = 256
graceful_timeout = 30
# gunicorn 23+ opens a control socket at one path per user: several gunicorns on a
# machine (one per port, as deploy/nginx.conf has them) would fight over it.
control_socket_disable = True

# Read in the master before it forks: every worker inherits the one secret.
os.environ.setdefault(SECRET_ENV, secrets.token_urlsafe(32))


def post_worker_init(worker: Any) -> None:
    """gunicorn's hook, in each worker once its app is loaded.

    See :func:`gptchat._serving.prepare_gunicorn_worker`.
    """
    from gptchat._serving import prepare_gunicorn_worker

    prepare_gunicorn_worker(worker)
