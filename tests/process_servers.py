"""Starting a real ``labserve serve`` (2 granian workers) on a loopback port, for process tests."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.live_server import production_server


def status_of(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@contextmanager
def running_server(
    trained_instance: Path, tmp_path: Path, env: dict[str, str] | None = None, workers: int = 2
) -> Iterator[tuple[str, int, Path]]:
    """Serve a copy of the trained instance; yields (base URL, port, instance folder).

    ``env`` holds ``LABSERVE_*`` variables by their full names.
    """
    instance = tmp_path / "instance"
    shutil.copytree(trained_instance / "models", instance / "models")
    settings = {name.removeprefix("LABSERVE_"): value for name, value in (env or {}).items()}
    with production_server(instance, settings, workers=workers) as url:
        port = urlsplit(url).port
        assert port is not None
        yield url, port, instance
