"""A child process for the crash tests: append records as fast as possible, print each id.

    python -m tests.journal.appender JOURNAL COUNT FSYNC [FIRST]

An id is printed (and flushed) only after ``append`` returned. After COUNT records it waits
for its standard input to close, so the parent's SIGKILL always finds it alive.
"""

from __future__ import annotations

import sys

from labserve.journal import JournalWriter
from tests.journal.helpers import record


def main() -> None:
    journal, count, fsync = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    writer = JournalWriter(journal, fsync=fsync, segment_bytes=64 * 1024)  # type: ignore[arg-type]
    out = sys.stdout
    for i in range(first, first + count):
        out.write(writer.append(record(i)) + "\n")
        out.flush()
    out.write("done\n")
    out.flush()
    sys.stdin.read()


if __name__ == "__main__":
    main()
