"""Input schemas generated from the feature list: strict on JSON, friendly on forms."""

from __future__ import annotations

import math

import pytest

from labserve.models.diagnosis import DIAGNOSIS_FEATURES, FEATURE_NAMES
from labserve.models.diagnosis.model import DiagnosisInput
from labserve.models.errors import InvalidInput
from labserve.models.features import form_errors, validate_rows

GOOD = {
    "radius_mean": 13.5,
    "texture_mean": 14.4,
    "smoothness_mean": 0.098,
    "texture_se": 0.79,
    "smoothness_se": 0.0085,
    "symmetry_se": 0.0198,
}


def test_json_schema_is_generated_from_the_features() -> None:
    schema = DiagnosisInput.model_json_schema()
    assert tuple(schema["properties"]) == FEATURE_NAMES
    assert set(schema["required"]) == set(FEATURE_NAMES)
    assert schema["additionalProperties"] is False
    for spec in DIAGNOSIS_FEATURES:
        prop = schema["properties"][spec.name]
        assert prop["minimum"] == spec.minimum
        assert prop["maximum"] == spec.maximum
        assert prop["title"] == spec.label


def test_integers_are_accepted_as_numbers() -> None:
    (row,) = validate_rows(DiagnosisInput, [{**GOOD, "radius_mean": 14}])
    assert row.radius_mean == 14.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"radius_mean": "14.2"}, "radius_mean", "must be a number"),
        ({"radius_mean": True}, "radius_mean", "must be a number"),
        ({"radius_mean": None}, "radius_mean", "must be a number"),
        ({"radius_mean": [1.0]}, "radius_mean", "must be a number"),
        ({"radius_mean": math.nan}, "radius_mean", "finite"),
        ({"radius_mean": math.inf}, "radius_mean", "finite"),
        ({"radius_mean": -1.0}, "radius_mean", "at least 0"),
        ({"smoothness_mean": 7.0}, "smoothness_mean", "at most 1"),
        ({"radius_mean": 1e9}, "radius_mean", "at most 100"),
        ({"colour": 1.0}, "colour", "unknown field"),
    ],
)
def test_bad_values_name_their_field(change: dict, field: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        validate_rows(DiagnosisInput, [GOOD, {**GOOD, **change}])
    assert info.value.field == f"inputs[1].{field}"


def test_missing_field_is_named() -> None:
    row = dict(GOOD)
    del row["symmetry_se"]
    with pytest.raises(InvalidInput, match="field required") as info:
        validate_rows(DiagnosisInput, [row], row_prefix="")
    assert info.value.field == "symmetry_se"


def test_a_row_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInput, match="JSON object") as info:
        validate_rows(DiagnosisInput, [[1, 2, 3]])
    assert info.value.field == "inputs[0]"


def test_form_text_is_parsed_and_every_bad_field_reported() -> None:
    text = {name: str(value) for name, value in GOOD.items()}
    row, errors = form_errors(DiagnosisInput, text)
    assert row is not None
    assert errors == {}
    row, errors = form_errors(
        DiagnosisInput, {**text, "radius_mean": "abc", "texture_mean": "", "texture_se": "-2"}
    )
    assert row is None
    assert errors == {
        "radius_mean": "must be a number",
        "texture_mean": "must be a number",
        "texture_se": "must be at least 0.0",
    }
    _, errors = form_errors(DiagnosisInput, {**text, "smoothness_se": "nan"})
    assert "finite" in errors["smoothness_se"]
