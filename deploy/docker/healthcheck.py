"""The image's HEALTHCHECK: exit 0 when GET /readyz on the local server answers 200.

/readyz, not /healthz: Docker Swarm puts a task into service discovery and the routing mesh
only once its container is healthy, so this probe is what keeps traffic off a replica whose
models are still loading (or failed to load). Standard library only, so it starts fast and
needs no curl in the image. Prints the status and the start of the body: `docker inspect`
keeps the last outputs in .State.Health.Log, which tells what a starting replica waits for.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/readyz"
    port = os.environ.get("LABSERVE_HEALTHCHECK_PORT", "8000")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            print(r.status, r.read(200).decode("utf-8", "replace"))
            return 0 if r.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read(200).decode("utf-8", "replace"))
    except OSError as exc:  # refused, timed out: the server is not answering yet
        print("no answer:", exc)
    return 1


if __name__ == "__main__":
    sys.exit(main())
