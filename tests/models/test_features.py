"""Input schemas generated from the feature list: strict on JSON, friendly on forms."""

from __future__ import annotations

import math

import pytest

from labserve.models.diagnosis import DIAGNOSIS_FEATURES, FEATURE_NAMES
from labserve.models.errors import InvalidInput
from labserve.models.features import FeatureSpec, form_errors, make_row_model, validate_rows

DiagnosisInput = make_row_model("diagnosis", DIAGNOSIS_FEATURES)

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
    assert row.model_dump(by_alias=True)["radius_mean"] == 14.0


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


MIXED = (
    FeatureSpec("od280/od315 of diluted wines", training_min=1.0, training_max=4.0),
    FeatureSpec("class", type="category", categories=("red", "white", 3)),
    FeatureSpec("free text", type="category"),
)


def test_any_feature_name_becomes_a_field_and_categories_are_enums() -> None:
    model = make_row_model("wine-2", MIXED)
    schema = model.model_json_schema()
    assert list(schema["properties"]) == [spec.name for spec in MIXED]
    assert schema["properties"]["class"]["enum"] == ["red", "white", 3]
    assert schema["properties"]["free text"]["minLength"] == 1
    good = {"od280/od315 of diluted wines": 2.5, "class": 3, "free text": "x"}
    (row,) = validate_rows(model, [good])
    assert row.model_dump(by_alias=True) == good


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"class": "rose"}, "class", "must be one of"),
        ({"class": "3"}, "class", "must be one of"),  # JSON keeps types: 3 is not "3"
        ({"free text": ""}, "free text", "must not be empty"),
        ({"free text": 5}, "free text", "must be a string"),
    ],
)
def test_bad_categories_name_their_field(change: dict, field: str, message: str) -> None:
    model = make_row_model("wine", MIXED)
    good = {"od280/od315 of diluted wines": 2.5, "class": "red", "free text": "x"}
    with pytest.raises(InvalidInput, match=message) as info:
        validate_rows(model, [{**good, **change}], row_prefix="")
    assert info.value.field == field


def test_a_form_chooses_categories_by_their_text() -> None:
    spec = MIXED[1]
    assert spec.category_for_text("3") == 3
    assert spec.category_for_text("red") == "red"
    assert spec.category_for_text("rose") == "rose"  # left for validation to refuse


def test_range_warnings_only_outside_the_training_range() -> None:
    spec = MIXED[0]
    assert spec.range_warning(2.0) is None
    assert spec.range_warning(1.0) is None
    assert spec.range_warning(4.5) == "4.5 is outside the training range 1 to 4"
    assert FeatureSpec("x").range_warning(1e9) is None  # no range known: no warning
