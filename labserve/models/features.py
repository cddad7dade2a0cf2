"""Numeric input features: their description, and pydantic schemas generated from them.

A model states its features once (name, words, unit, hard limits); the schema that validates
API rows and the form the UI draws both come from that one list, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import ErrorDetails

from labserve.models.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class FeatureSpec:
    """One numeric input.

    ``minimum``/``maximum`` are hard limits: physically impossible or far outside anything
    plausible, rejected outright. The observed training range is softer and lives in the
    artifact's metadata; values outside it are accepted but flagged.
    """

    name: str
    label: str
    unit: str
    description: str
    minimum: float
    maximum: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "description": self.description,
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


def make_row_model(model_name: str, features: Sequence[FeatureSpec]) -> type[BaseModel]:
    """Build the pydantic model of one input row.

    Strict by default: JSON numbers only (no strings, no booleans, no null), finite, within the
    hard limits, no unknown fields. The UI parses form text with ``strict=False``.
    """
    fields: dict[str, Any] = {
        f.name: (
            Annotated[
                float,
                Field(
                    ge=f.minimum,
                    le=f.maximum,
                    allow_inf_nan=False,
                    title=f.label,
                    description=f"{f.description} ({f.unit})" if f.unit else f.description,
                ),
            ],
            ...,
        )
        for f in features
    }
    class_name = "".join(part.capitalize() for part in model_name.split("_")) + "Input"
    return create_model(
        class_name,
        __config__=ConfigDict(extra="forbid", strict=True),
        **fields,
    )


def friendly_message(error: ErrorDetails) -> str:
    """Pydantic's message, reworded where a lab user would not follow it."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "field required"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return "must be a JSON object"
    if kind in {"float_type", "float_parsing", "int_type", "int_parsing"}:
        return "must be a number"
    if kind == "finite_number":
        return "must be a finite number (not NaN or infinity)"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    return str(error["msg"])


def field_of(error: ErrorDetails, prefix: str = "") -> str | None:
    loc = ".".join(str(part) for part in error["loc"])
    return f"{prefix}{loc}" if loc else (prefix.rstrip(".") or None)


def describe_validation_error(error: ValidationError, prefix: str = "") -> InvalidInput:
    """Turn pydantic's first complaint into an ``InvalidInput`` naming the field."""
    first = error.errors(include_url=False)[0]
    field = field_of(first, prefix)
    message = friendly_message(first)
    return InvalidInput(f"{field}: {message}" if field else message, field=field)


def form_errors(input_model: type[M], form: dict[str, str]) -> tuple[M | None, dict[str, str]]:
    """Validate text typed into a form; every bad field gets its own message.

    Returns the row (or None) and a mapping field -> message for the template.
    """
    try:
        return input_model.model_validate(form, strict=False), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            field = field_of(error) or "__all__"
            errors.setdefault(field, friendly_message(error))
        return None, errors


def validate_rows(
    input_model: type[M],
    rows: Sequence[object],
    *,
    strict: bool = True,
    row_prefix: str = "inputs[{index}].",
) -> list[M]:
    """Validate every row; the first bad one raises ``InvalidInput`` naming ``inputs[i].x``.

    ``row_prefix`` is formatted with the row index; pass ``""`` for single-object routes so the
    field is just the feature name.
    """
    out: list[M] = []
    for index, row in enumerate(rows):
        try:
            out.append(input_model.model_validate(row, strict=strict))
        except ValidationError as exc:
            raise describe_validation_error(exc, prefix=row_prefix.format(index=index)) from None
    return out
