"""Input features: their description, and the pydantic schema generated from them.

A model states its features once (in its metadata.json): name, kind (number or category),
words, unit, limits, the range or categories seen in training. The schema that validates API
rows, the form the UI draws, the CSV checks and the out-of-range warnings all come from that
one list, so they cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import ErrorDetails

from labserve.models.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)
FeatureType = Literal["number", "category"]


@dataclass(frozen=True)
class FeatureSpec:
    """One input of a tabular model.

    ``minimum``/``maximum`` are hard limits: physically impossible or far outside anything
    plausible, rejected outright (None: any finite number). ``training_min``/``training_max``
    are softer: the range seen in training; values outside it are accepted but flagged.
    A ``category`` feature takes one of ``categories`` (the values seen in training); an empty
    tuple means the set is unknown and any non-empty text is taken.
    """

    name: str
    label: str = ""
    unit: str = ""
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    type: FeatureType = "number"
    training_min: float | None = None
    training_max: float | None = None
    integer: bool = False
    categories: tuple[Any, ...] = field(default=())

    @property
    def title(self) -> str:
        return self.label or self.name

    @property
    def is_category(self) -> bool:
        return self.type == "category"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "label": self.title,
            "unit": self.unit,
            "description": self.description,
        }
        if self.is_category:
            out["categories"] = list(self.categories)
            return out
        out.update(
            minimum=self.minimum,
            maximum=self.maximum,
            training_min=self.training_min,
            training_max=self.training_max,
            integer=self.integer,
        )
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        kind = data.get("type", "number")
        if kind not in ("number", "category"):
            raise ValueError(f"feature {data.get('name')!r}: unknown type {kind!r}")

        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        return cls(
            name=str(data["name"]),
            label=str(data.get("label") or ""),
            unit=str(data.get("unit") or ""),
            description=str(data.get("description") or ""),
            minimum=number("minimum"),
            maximum=number("maximum"),
            type=kind,
            training_min=number("training_min"),
            training_max=number("training_max"),
            integer=bool(data.get("integer", False)),
            categories=tuple(data.get("categories") or ()),
        )

    def range_warning(self, value: float) -> str | None:
        """Why ``value`` deserves caution (outside the training range), or None."""
        low, high = self.training_min, self.training_max
        if self.is_category or low is None or high is None or low <= value <= high:
            return None
        return f"{value:g} is outside the training range {low:g} to {high:g}"

    def category_for_text(self, text: str) -> Any:
        """The category whose text form is ``text`` (forms and CSV cells are text)."""
        for category in self.categories:
            if str(category) == text:
                return category
        return text


def field_name(index: int) -> str:
    """Internal field names: feature names may be any text (``od280/od315``, ``class``)."""
    return f"f{index}"


def make_row_model(model_name: str, features: Sequence[FeatureSpec]) -> type[BaseModel]:
    """Build the pydantic model of one input row.

    Strict by default: JSON numbers only (no strings, no booleans, no null), finite, within the
    hard limits; a category one of the known values; no unknown fields. Fields are aliased to
    the feature names. The UI parses form text with ``strict=False``.
    """
    fields: dict[str, Any] = {}
    for index, spec in enumerate(features):
        description = f"{spec.description} ({spec.unit})" if spec.unit else spec.description
        if spec.is_category and spec.categories:
            kind: Any = Literal[spec.categories]
            constraints: dict[str, Any] = {}
        elif spec.is_category:
            kind, constraints = str, {"min_length": 1}
        else:
            kind = float
            constraints = {"ge": spec.minimum, "le": spec.maximum, "allow_inf_nan": False}
        fields[field_name(index)] = (
            Annotated[
                kind,
                Field(
                    alias=spec.name,
                    title=spec.title,
                    description=description or None,
                    **constraints,
                ),
            ],
            ...,
        )
    class_name = "".join(part.capitalize() for part in model_name.replace("-", "_").split("_"))
    return create_model(
        f"{class_name}Input",
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
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "string_type":
        return "must be a string"
    if kind == "string_too_short":
        return "must not be empty"
    return str(error["msg"])


def field_of(error: ErrorDetails, prefix: str = "") -> str | None:
    loc = ".".join(str(part) for part in error["loc"])
    return f"{prefix}{loc}" if loc else (prefix.rstrip(".") or None)


def describe_validation_error(error: ValidationError, prefix: str = "") -> InvalidInput:
    """Turn pydantic's first complaint into an ``InvalidInput`` naming the field."""
    first = error.errors(include_url=False)[0]
    field_ = field_of(first, prefix)
    message = friendly_message(first)
    return InvalidInput(f"{field_}: {message}" if field_ else message, field=field_)


def form_errors(input_model: type[M], form: Mapping[str, Any]) -> tuple[M | None, dict[str, str]]:
    """Validate text typed into a form; every bad field gets its own message.

    Returns the row (or None) and a mapping field -> message for the template.
    """
    try:
        return input_model.model_validate(dict(form), strict=False), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            name = field_of(error) or "__all__"
            errors.setdefault(name, friendly_message(error))
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


def is_whole(value: float) -> bool:
    return math.isfinite(value) and float(value).is_integer()
