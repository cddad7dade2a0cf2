"""The error summary at the top of a form: every problem, each linking to its field.

Why a summary and not only the message beside each field: after a submit the page reloads
at its top, and a person (or a screen reader, which the page focuses on the summary) learns
at once how many things to fix and can jump to each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The key of a problem that belongs to no one field (``form_errors`` uses it).
WHOLE_FORM = "__all__"


@dataclass(frozen=True)
class Problem:
    """One line of an error summary; ``href`` (``#field-id``) links it to its field."""

    message: str
    href: str | None = None


@dataclass(frozen=True)
class FormField:
    """A field as the summary names it: its form name, its element id, its label."""

    name: str
    element_id: str
    title: str


def summary_problems(errors: Mapping[str, str], fields: Iterable[FormField]) -> list[Problem]:
    """The problems of ``errors`` (form name -> message) in the order of the form's fields,
    then those of no field shown (named, so nothing is lost)."""
    fields = list(fields)
    shown = {field.name for field in fields}
    problems = [
        Problem(f"{field.title}: {errors[field.name]}", f"#{field.element_id}")
        for field in fields
        if field.name in errors
    ]
    for name, message in errors.items():
        if name == WHOLE_FORM:
            problems.append(Problem(message))
        elif name not in shown:
            problems.append(Problem(f"{name}: {message}"))
    return problems
