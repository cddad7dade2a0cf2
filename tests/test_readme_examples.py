"""The README's "Using it" examples run as written, against a live server, and print what the
README says they print.

Each ```sh block of that section is cut into steps at its ``# ->`` comments: the commands
before such a comment are one step, the comment (continued on lines starting ``#    ``) is
what they print. A step runs with ``bash -euo pipefail`` (so every command must succeed: the
curl calls use ``--fail-with-body``), with ``localhost:5000`` pointing at the test server and
``examples/`` at the repository's. JSON output must have the documented shape (the same keys,
the same strings, numbers where numbers are shown; ``"..."`` stands for any string); other
output must be the documented lines.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import production_server

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Using it"
DOCUMENTED = "# -> "
CONTINUED = "#    "
README_SERVER = "localhost:5000"


@dataclass(frozen=True)
class Step:
    """Shell commands, and what the README shows the last of them prints (None: nothing)."""

    commands: list[str]
    output: str | None


def section(text: str, title: str) -> str:
    start = text.index(title + "\n")
    following = text.find("\n## ", start + len(title))
    return text[start : following if following != -1 else len(text)]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def split_commands(lines: list[str]) -> list[str]:
    """Whole commands: a line ending in ``\\``, or inside a single-quoted string, goes on."""
    commands: list[str] = []
    current: list[str] = []
    quoted = False
    for line in lines:
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current.append(line)
        quoted ^= line.count("'") % 2 == 1
        if not quoted and not line.rstrip().endswith("\\"):
            commands.append("\n".join(current))
            current = []
    assert not current, f"an unfinished command: {current}"
    return commands


def steps(block: str) -> list[Step]:
    found: list[Step] = []
    pending: list[str] = []
    lines = block.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith(DOCUMENTED):
            pending.append(line)
            continue
        output = [line.removeprefix(DOCUMENTED)]
        while index < len(lines) and lines[index].startswith(CONTINUED):
            output.append(lines[index].removeprefix(CONTINUED))
            index += 1
        found.append(Step(split_commands(pending), "\n".join(output)))
        pending = []
    rest = split_commands(pending)
    if rest:
        found.append(Step(rest, None))
    return found


def readme_steps() -> list[Step]:
    text = section((ROOT / "README.md").read_text(encoding="utf-8"), SECTION)
    return [step for block in shell_blocks(text) for step in steps(block)]


def same_shape(documented: Any, actual: Any) -> bool:
    """``actual`` has the shape of the README's example ``documented``."""
    if isinstance(documented, dict):
        return (
            isinstance(actual, dict)
            and set(documented) == set(actual)
            and all(same_shape(documented[k], actual[k]) for k in documented)
        )
    if isinstance(documented, list):
        return (
            (
                isinstance(actual, list)
                and len(actual) >= len(documented)
                and all(same_shape(documented[0], item) for item in actual)
            )
            if documented
            else actual == []
        )
    if isinstance(documented, bool) or documented is None:
        return documented == actual
    if isinstance(documented, int | float):
        return isinstance(actual, int | float) and not isinstance(actual, bool)
    if documented == "...":
        return isinstance(actual, str)
    return bool(documented == actual)


def matches(documented: str, printed: str) -> bool:
    try:
        expected = json.loads(documented)
    except ValueError:
        return printed.rstrip("\n").splitlines() == documented.splitlines()
    return same_shape(expected, json.loads(printed))


def test_the_section_has_examples_and_every_curl_fails_loudly() -> None:
    found = readme_steps()
    assert sum(step.output is not None for step in found) >= 4
    calls = [c for step in found for c in step.commands if c.startswith("curl ")]
    assert len(calls) >= 7
    for call in calls:
        assert call.startswith("curl -sS --fail-with-body "), call


def test_same_shape_is_strict_enough() -> None:
    assert same_shape({"a": [{"b": 0.9}], "c": "1"}, {"a": [{"b": 1}, {"b": 0.2}], "c": "1"})
    assert not same_shape({"a": 0.9}, {"a": 0.9, "extra": 1})
    assert not same_shape({"label": "Malignant"}, {"label": "Benign"})
    assert not same_shape({"n": 1}, {"n": "1"})
    assert same_shape(["..."], ["any text"])


def test_readme_examples_run_as_written(trained_instance: Path, tmp_path: Path) -> None:
    """In a scratch folder whose ``examples`` is the repository's, so files the examples
    write (``scored.csv``) never land in the work tree."""
    instance = tmp_path / "instance"
    shutil.copytree(trained_instance / "models", instance / "models")
    workdir = tmp_path / "shell"
    workdir.mkdir()
    (workdir / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    with production_server(instance) as url:
        for step in readme_steps():
            for command in step.commands:
                script = command.replace(README_SERVER, url.removeprefix("http://"))
                result = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", script],
                    cwd=workdir,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                assert result.returncode == 0, (script, result.stdout, result.stderr)
            if step.output is not None:
                printed = result.stdout
                assert matches(step.output, printed), (script, step.output, printed)
