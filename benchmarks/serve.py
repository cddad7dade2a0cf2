"""Serving benchmark: the tutorial app vs labserve vs a bare Flask echo, side by side.

Starts each server on a free loopback port, drives it with the same bounded load (wrk when
installed, else a small Python load generator) for a fixed time, repeats the whole round
``--runs`` times and prints medians: req/s, p50, p99, errors, and ratios. Then times scoring a
100,000-row CSV through the API and the CLI.

    .venv/bin/pip install -e '.[bench]' && apt-get install wrk
    .venv/bin/python benchmarks/serve.py

Targets only 127.0.0.1; every load is bounded in time and connections.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from labserve.settings import Settings

TUTORIAL = "tutorial (gunicorn, 2 sync workers)"
LABSERVE = "labserve (granian, 2 workers)"
ECHO = "bare Flask echo (granian, 2 workers)"
FLASK_LANE = "labserve, fast lane off (all through Flask)"
#: The shipper ships as records arrive instead of waiting for idle CPU (the default, bounded by
#: the setting ``shipper_idle_wait_seconds``).
UNDEFERRED = "labserve, shipping not deferred"

ROW = {
    "radius_mean": 17.99,
    "texture_mean": 10.38,
    "smoothness_mean": 0.1184,
    "texture_se": 0.9053,
    "smoothness_se": 0.006399,
    "symmetry_se": 0.03003,
}

# The chapter's app, as written there: pickled scaler and forest, a DataFrame per request.
TUTORIAL_APP = """
import pickle
import pandas as pd
from flask import Flask, jsonify, request

app = Flask(__name__)
with open("scaler.pkl", "rb") as f:
    scaler = pickle.load(f)
with open("model.pkl", "rb") as f:
    model = pickle.load(f)
FEATURES = ["radius_mean", "texture_mean", "smoothness_mean", "texture_se",
            "smoothness_se", "symmetry_se"]

@app.route("/api/diagnosis", methods=["POST"])
def diagnosis():
    data = request.get_json()
    df = pd.DataFrame([data])[FEATURES]
    X = scaler.transform(df)
    prediction = model.predict(X)[0]
    probability = model.predict_proba(X)[0][1]
    label = "Malignant" if prediction == 1 else "Benign"
    return jsonify({"diagnosis": label, "probability_malignant": float(probability)})
"""

TUTORIAL_TRAIN = """
import pickle
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

data = load_breast_cancer()
columns = {"mean radius": "radius_mean", "mean texture": "texture_mean",
           "mean smoothness": "smoothness_mean", "texture error": "texture_se",
           "smoothness error": "smoothness_se", "symmetry error": "symmetry_se"}
df = pd.DataFrame(data.data, columns=data.feature_names)[list(columns)].rename(columns=columns)
y = (data.target == 0).astype(int)
X_train, X_test, y_train, y_test = train_test_split(
    df, y, test_size=0.2, random_state=42, stratify=y)
scaler = StandardScaler().fit(X_train)
model = RandomForestClassifier(random_state=42).fit(scaler.transform(X_train), y_train)
with open("scaler.pkl", "wb") as f:
    pickle.dump(scaler, f)
with open("model.pkl", "wb") as f:
    pickle.dump(model, f)
"""

ECHO_APP = """
from flask import Flask, jsonify, request

from labserve.buffered_wsgi import BufferedWSGI
from labserve.hardening import runs_inline

app = Flask(__name__)

@app.route("/api/diagnosis", methods=["POST"])
def echo():
    return jsonify(request.get_json())

# the same app behind labserve's body guard, as `labserve serve` runs its own (RSGI)
guarded = BufferedWSGI(
    app, max_body_bytes=16 << 20, body_timeout=60, max_per_address=64, threads=32,
    inline=runs_inline,
)
"""
GUARDED_ECHO = "bare Flask echo (granian RSGI, labserve's guard)"


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, path: str, method: str, deadline_s: float = 90) -> None:
    end = time.monotonic() + deadline_s
    body = json.dumps(ROW) if method == "POST" else None
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"port {port} not ready")


def start(
    cmd: list[str], cwd: Path, env: dict[str, str], port: int, ready: str, method: str
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_ready(port, ready, method)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def to_ms(text: str) -> float:
    """wrk's latency text (``422.00us``, ``1.29ms``, ``1.02s``, ``1.50m``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected latency {text!r} in wrk's output")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def drive_wrk(port: int, seconds: int, connections: int, workdir: Path) -> LoadResult:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{json.dumps(ROW)}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/api/diagnosis",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
        p50 = to_ms(re.search(r"\n\s+50%\s+(\S+)", out)[1])  # type: ignore[index]
        p99 = to_ms(re.search(r"\n\s+99%\s+(\S+)", out)[1])  # type: ignore[index]
    except (TypeError, ValueError) as exc:
        raise RuntimeError(f"cannot read wrk's output ({exc}):\n{out}") from None
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx[1]) if non2xx else 0
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return LoadResult(rps, p50, p99, errors)


def drive_python(port: int, seconds: int, connections: int, workdir: Path) -> LoadResult:
    """Fallback load generator: keep-alive connections in threads, bounded by time."""
    body = json.dumps(ROW)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/api/diagnosis",
                    body=body,
                    headers={"Content-Type": "application/json"},
                )
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return LoadResult(
        len(latencies) / seconds,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        errors[0],
    )


def make_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(ROW))
        values = list(ROW.values())
        for i in range(rows):
            writer.writerow([v * (1 + (i % 7) * 0.01) for v in values])


def time_csv_api(port: int, path: Path, rows: int) -> float:
    data = path.read_bytes()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    conn.request(
        "POST",
        "/api/v1/models/diagnosis/predict.csv",
        body=data,
        headers={"Content-Type": "text/csv"},
    )
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200 or body.count(b"\n") < rows + 1 or b"not scored" in body:
        raise RuntimeError(f"CSV scoring failed: {response.status} {body[:200]!r}")
    return elapsed


def time_csv_cli(instance: Path, path: Path, workdir: Path) -> float:
    labserve = str(Path(sys.executable).with_name("labserve"))
    started = time.perf_counter()
    subprocess.run(
        [
            labserve,
            "predict",
            "diagnosis",
            str(path),
            "-o",
            str(workdir / "scored.csv"),
            "--instance-path",
            str(instance),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return time.perf_counter() - started


def print_against(label: str, result: LoadResult, reference: LoadResult) -> None:
    """One line: ``result``'s requests per second and p99 as shares of ``reference``'s."""
    print(
        f"{label}: {100 * result.rps / reference.rps:.0f}% of the requests per second; "
        f"p99 {result.p99_ms:.2f} ms against {reference.p99_ms:.2f} ms "
        f"({result.p99_ms / reference.p99_ms:.2f} x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="load per server per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    parser.add_argument(
        "--only",
        action="append",
        help="run only servers whose name contains this (repeatable); skips the CSV timing",
    )
    args = parser.parse_args()
    drive = drive_wrk if shutil.which("wrk") else drive_python
    python = sys.executable
    bindir = Path(python).parent

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "tutorial_app.py").write_text(TUTORIAL_APP)
        (workdir / "echo_app.py").write_text(ECHO_APP)
        subprocess.run([python, "-c", TUTORIAL_TRAIN], cwd=workdir, check=True)
        instance = workdir / "instance"
        subprocess.run(
            [str(bindir / "labserve"), "train", "diagnosis", "--instance-path", str(instance)],
            check=True,
            capture_output=True,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABSERVE_")}

        def servers(port: int) -> dict[str, tuple[list[str], dict[str, str]]]:
            """name -> (command, extra environment)."""
            gunicorn, granian = str(bindir / "gunicorn"), str(bindir / "granian")

            def granian_echo(interface: str, target: str) -> list[str]:
                """The echo app under granian, 2 workers, with one of its interfaces."""
                address = ["--host", "127.0.0.1", "--port", str(port)]
                return [granian, "--interface", interface, "--workers", "2", *address, target]

            labserve = [
                str(bindir / "labserve"),
                "serve",
                "--instance-path",
                str(instance),
                "--port",
                str(port),
                "--workers",
                "2",
            ]
            return {
                TUTORIAL: (
                    [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "tutorial_app:app"],
                    {},
                ),
                LABSERVE: (labserve, {}),
                "labserve, audit log off": (labserve, {"LABSERVE_AUDIT": "false"}),
                FLASK_LANE: (labserve, {"LABSERVE_FAST_LANE": "false"}),
                UNDEFERRED: (labserve, {"LABSERVE_SHIPPER_IDLE_WAIT_SECONDS": "0"}),
                ECHO: (granian_echo("wsgi", "echo_app:app"), {}),
                GUARDED_ECHO: (granian_echo("rsgi", "echo_app:guarded"), {}),
                "bare Flask echo (gunicorn, 2 sync workers)": (
                    [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "echo_app:app"],
                    {},
                ),
            }

        results: dict[str, list[LoadResult]] = {}
        for run in range(args.runs):
            port = free_port()
            for index, (name, (cmd, extra)) in enumerate(servers(port).items()):
                if args.only and not any(part in name for part in args.only):
                    continue
                # Each start journals into a folder of its own: a labserve stopped under load
                # leaves records for the next start to ship, which would then be timed
                # shipping another server's records (measured: up to 14 MB inherited).
                journal = {"LABSERVE_JOURNAL_PATH": str(workdir / f"journal-{run}-{index}")}
                process = start(
                    cmd, workdir, {**env, **journal, **extra}, port, "/api/diagnosis", "POST"
                )
                try:
                    drive(port, 2, args.connections, workdir)  # warm-up
                    result = drive(port, args.seconds, args.connections, workdir)
                    results.setdefault(name, []).append(result)
                finally:
                    stop(process)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

        med = {
            name: LoadResult(
                statistics.median(r.rps for r in rs),
                statistics.median(r.p50_ms for r in rs),
                statistics.median(r.p99_ms for r in rs),
                sum(r.errors for r in rs),
            )
            for name, rs in results.items()
        }
        tutorial, ceiling = med.get(TUTORIAL), med.get(ECHO)
        print(
            f"\nPOST /api/diagnosis, one row; {args.connections} connections, {args.seconds}s "
            f"per run, median of {args.runs} runs; load: {drive.__name__.removeprefix('drive_')}\n"
        )
        print(
            f"{'server':44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
            f"{'x tutorial':>11} {'% of echo':>10}"
        )
        for name, r in med.items():
            print(
                f"{name:44} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:7d} "
                f"{r.rps / tutorial.rps if tutorial else float('nan'):11.1f} "
                f"{100 * r.rps / ceiling.rps if ceiling else float('nan'):9.0f}%"
            )
        labserve_result, audit_off = med.get(LABSERVE), med.get("labserve, audit log off")
        if labserve_result and audit_off:
            print(
                f"\naudit log cost: {labserve_result.rps:.0f} req/s with, {audit_off.rps:.0f} "
                f"without ({100 * (1 - labserve_result.rps / audit_off.rps):+.1f}% throughput)"
            )
            # The two medians come from different runs; the cost within each run, where both
            # servers met the same machine, is steadier.
            paired = [
                100 * (1 - on.rps / off.rps)
                for on, off in zip(
                    results[LABSERVE], results["labserve, audit log off"], strict=True
                )
            ]
            print(
                f"audit log cost within each run: {', '.join(f'{c:.1f}%' for c in paired)}; "
                f"median {statistics.median(paired):.1f}%"
            )
            wait = Settings.model_fields["shipper_idle_wait_seconds"].default
            print(
                f"(while the cores are busy the shipper waits up to {wait:.0f} s for idle CPU: "
                f"a run longer than that also pays for shipping; see the '{UNDEFERRED}' row)"
            )
        if labserve_result and ceiling:
            print_against("labserve / echo", labserve_result, ceiling)
            pairs = zip(results[LABSERVE], results[ECHO], strict=True)
            print(
                "p99 within each run, labserve / echo ms: "
                + ", ".join(f"{on.p99_ms:.2f}/{echo.p99_ms:.2f}" for on, echo in pairs)
            )
        guarded = med.get(GUARDED_ECHO)
        if labserve_result and guarded:
            # The same server as labserve's (RSGI behind the body guard): what the app adds.
            print_against("labserve / echo behind the same guard", labserve_result, guarded)
        if args.only:
            return

        csv_path = workdir / "rows.csv"
        make_csv(csv_path, args.csv_rows)
        port = free_port()
        command, extra = servers(port)[LABSERVE]
        process = start(command, workdir, {**env, **extra}, port, "/api/diagnosis", "POST")
        try:
            api_times = [time_csv_api(port, csv_path, args.csv_rows) for _ in range(args.runs)]
        finally:
            stop(process)
        cli_times = [time_csv_cli(instance, csv_path, workdir) for _ in range(args.runs)]
        size_mb = csv_path.stat().st_size / 1e6
        print(f"\n{args.csv_rows:,}-row CSV ({size_mb:.1f} MB), median of {args.runs}")
        print(
            f"{'API  POST /api/v1/models/diagnosis/predict.csv':50} "
            f"{statistics.median(api_times):7.2f} s (client wall time over loopback)"
        )
        print(
            f"{'CLI  labserve predict diagnosis':50} "
            f"{statistics.median(cli_times):7.2f} s (whole process, start-up included)"
        )


if __name__ == "__main__":
    main()
