"""What ``labserve serve`` adds to granian so that slow or greedy clients cannot starve it.

- Headers must arrive within ``LABSERVE_HEADER_TIMEOUT_SECONDS`` (granian's HTTP/1 header
  read timeout; its default is 30 s and it cannot exceed 60 s).
- Bodies are read on the event loop under a deadline, and one address may only have so many
  requests under way (``labserve.buffered_wsgi``).
- Connections waiting for their headers cost a file descriptor each, so the soft limit on
  open files is raised to the hard one, and granian's backpressure (connections a worker
  takes at once) follows it rather than its default of 1,024 / workers.
- Rate-limit counts without Redis live in one shared-memory table in the instance folder,
  so every worker spends the same budget (``labserve.web.limit_storage``).
"""

from __future__ import annotations

import importlib.util
import re
import resource
from typing import Any

from labserve.access_log import AccessLog
from labserve.buffered_wsgi import BufferedWSGI
from labserve.settings import Settings

COUNTERS_FILE = "ratelimits.shm"
#: Requests that may wait on something other than this worker's CPU (a database query, a file
#: streamed to or from the client, a large body): each runs on a request thread. Every other
#: request (a prediction, a page, a probe) is short and runs on the event loop itself, which
#: saves two thread hand-overs per request (benchmarks/serve.py measures both).
THREADED_PATHS = re.compile(r"\.csv$|/batch$|/scored/|^/api/v1/predictions|^/log(?:in|out)$")
INLINE_BODY_BYTES = 64 * 1024


def runs_inline(scope: Any, body_bytes: int) -> bool:
    """Whether a request runs on the event loop (see ``THREADED_PATHS``)."""
    return body_bytes <= INLINE_BODY_BYTES and THREADED_PATHS.search(scope.path) is None


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return int(soft if soft != resource.RLIM_INFINITY else 65536)


def event_loop() -> Any:
    """uvloop (a dependency everywhere but Windows), else asyncio; never granian's ``auto``.

    ``auto`` picks granian's ``rloop`` whenever that package is importable, and behind the
    body guard ``rloop`` had a p99 of 75 to 102 ms where uvloop had 2.6 to 11 ms
    (docs/server.md): installing an unrelated package must not change the server.
    """
    from granian.constants import Loops

    return Loops.uvloop if importlib.util.find_spec("uvloop") is not None else Loops.asyncio


def granian_options(settings: Settings, workers: int) -> dict[str, Any]:
    """Granian's keyword arguments for the RSGI server labserve runs."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    open_files = raise_open_files_limit()
    return {
        "interface": Interfaces.RSGI,
        "loop": event_loop(),
        "http1_settings": HTTP1Settings(
            header_read_timeout=int(settings.header_timeout_seconds * 1000)
        ),
        "backpressure": max(1024, (open_files - 64) // max(1, workers)),
        "backlog": 4096,
    }


def worker_settings(settings: Settings) -> Settings:
    """The settings every worker gets: rate-limit counts shared through the instance folder."""
    # imported here: labserve.web must not be imported before PROMETHEUS_MULTIPROC_DIR is set
    from labserve.web.limit_storage import storage_url

    if settings.redis_url or settings.rate_limit_storage_url:
        return settings
    return settings.replace(
        rate_limit_storage_url=storage_url(settings.instance_path / COUNTERS_FILE)
    )


def guarded_app_from_settings(settings: Settings) -> Any:
    """One worker's RSGI app (a ``BufferedWSGI``): the Flask app behind the body guard.

    Typed ``Any`` because granian's loader signature expects a plain callable, while an RSGI
    app object is found through its ``__rsgi__`` method.
    """
    from labserve.web import app_from_settings

    return BufferedWSGI(
        app_from_settings(settings),
        max_body_bytes=settings.max_content_length,
        body_timeout=settings.body_timeout_seconds,
        max_per_address=settings.max_requests_per_address,
        threads=settings.request_threads,
        inline=runs_inline,
        access_log=AccessLog() if settings.access_log else None,
    )
