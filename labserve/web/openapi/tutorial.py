"""The tutorial's two routes, documented from the models that serve them.

``POST /api/diagnosis`` takes one row of the classifier and answers its decision;
``POST /api/prediction`` takes the text model's row and parameters as one flat object. Their
shapes are the tutorial's contract; every type in them comes from the model's own schemas.
"""

from __future__ import annotations

from labserve.models.tabular import TabularModel
from labserve.web.openapi.components import VERSION_PARAMETER, json_request_body, ok_response
from labserve.web.openapi.operations import ModelOperations, media_examples
from labserve.web.openapi.schemas import Schema

#: The key of the positive class's probability in the tutorial's diagnosis answer.
TUTORIAL_PROBABILITY = "probability_malignant"


def tutorial_diagnosis(ops: ModelOperations) -> Schema | None:
    """``POST /api/diagnosis``: one row of the classifier in, its decision out."""
    model = ops.model
    positive = getattr(model, "positive_class", None)
    if not isinstance(model, TabularModel) or positive is None or not model.has_probabilities:
        return None
    answer = {
        "type": "object",
        "required": ["diagnosis", TUTORIAL_PROBABILITY, "model_version"],
        "additionalProperties": False,
        "properties": {
            "diagnosis": {"type": "string", "enum": model.classes},
            TUTORIAL_PROBABILITY: {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": f"probability of {positive}",
            },
            "model_version": {"type": "string"},
        },
    }
    answers = media_examples(
        {
            label: {
                "diagnosis": answer["label"],
                TUTORIAL_PROBABILITY: answer["probabilities"][positive],
                "model_version": model.version,
            }
            for label, answer in ops.answers.items()
        }
    )
    operation = ops.operation(
        "tutorial",
        "Tutorial route: one object of features -> a diagnosis",
        description=f"The tutorial's contract, served by the `{model.name}` model: the same "
        f"row as one item of `/api/v1/models/{model.name}/predict`.",
        parameters=[VERSION_PARAMETER],
        requestBody=json_request_body(ops.input_ref, media_examples(ops.examples)),
        responses=ops.responses(
            ok_response(answer, examples=answers), 400, 403, 404, 413, 415, 422, 503
        ),
    )
    operation["tags"] = ["tutorial"]
    return operation


def tutorial_summary(ops: ModelOperations) -> Schema | None:
    """``POST /api/prediction``: the text model's row and parameters as one flat object."""
    model = ops.model
    summary_text = model.output_schema().get("properties", {}).get("summary_text")
    if model.capability != "text" or summary_text is None:
        return None
    row = model.input_schema()
    parameters = model.parameters_schema() or {}
    body = {
        "type": "object",
        "required": list(row.get("required", [])),
        "additionalProperties": False,
        "properties": {**row.get("properties", {}), **parameters.get("properties", {})},
    }
    answer = {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": {
            "type": "object",
            "required": ["summary_text"],
            "additionalProperties": False,
            "properties": {"summary_text": summary_text},
        },
    }
    answers = media_examples(
        {label: [{"summary_text": answer["summary_text"]}] for label, answer in ops.answers.items()}
    )
    operation = ops.operation(
        "tutorial",
        "Tutorial route: summarise one text",
        description=f"The tutorial's contract, served by the `{model.name}` model: its input "
        f"and its parameters in one object.",
        parameters=[VERSION_PARAMETER],
        requestBody=json_request_body(body, media_examples(ops.examples)),
        responses=ops.responses(
            ok_response(answer, examples=answers), 400, 403, 404, 413, 415, 422, 503
        ),
    )
    operation["tags"] = ["tutorial"]
    return operation
