"""What neutralising formula cells costs when scoring a CSV (labserve/models/csv_scoring.py).

Scores the same 100,000-row file with ``safe_cells`` on and off, for three files: the lab
export of benchmarks/model_call.py (ids and positive numbers), the same with a column of
negative numbers (every chunk then needs the regular-expression scan), and the same with a
formula cell in 1% of the rows (those lines are split and joined again). On and off are
timed in turn, and the best of ``--repeat`` runs is kept: on a shared machine the best run is
the one least disturbed by other jobs.

    .venv/bin/python benchmarks/csv_safe_cells.py [--artifact-dir DIR] [--rows N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.model_call import as_csv, benchmark_rows, serve
from labserve.models.csv_scoring import score_csv
from labserve.models.diagnosis.training import train_diagnosis


def with_extra_column(text: str, cell: str) -> str:
    """``text`` with a ``note`` column: ``cell(i)`` for data row i."""
    lines = text.splitlines()
    out = [lines[0] + ",note"]
    out += [f"{line},{cell(i)}" for i, line in enumerate(lines[1:])]
    return "\n".join(out) + "\n"


def best_seconds(model: object, text: str, repeat: int) -> tuple[float, float]:
    """Best time with safe cells off and on, the two timed in turn."""
    runs: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for safe in (False, True):
            started = time.perf_counter()
            "".join(score_csv(model, text, safe_cells=safe))  # type: ignore[arg-type]
            runs[safe].append(time.perf_counter() - started)
    return min(runs[False]), min(runs[True])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact-dir", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        artifact_dir = args.artifact_dir
        if artifact_dir is None:
            artifact_dir = Path(tmp) / "diagnosis"
            train_diagnosis(artifact_dir)
        model = serve(artifact_dir)
        plain = as_csv(benchmark_rows(args.rows))
        files = {
            "lab export": plain,
            "+ negative numbers": with_extra_column(plain, lambda i: f"-{i % 97}.5"),
            "+ 1% formula cells": with_extra_column(
                plain, lambda i: "=HYPERLINK(1)" if i % 100 == 0 else "ok"
            ),
        }
        print(f"{'file':22} {'safe off':>10} {'safe on':>10} {'cost':>7}")
        for name, text in files.items():
            off, on = best_seconds(model, text, args.repeat)
            print(f"{name:22} {off * 1000:8.1f}ms {on * 1000:8.1f}ms {100 * (on / off - 1):6.1f}%")


if __name__ == "__main__":
    main()
