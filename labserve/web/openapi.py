"""The OpenAPI 3.1 document of the JSON API, built from the models' own input schemas.

Generated at request time from the registry, so a model's schema and its documentation can
never disagree.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

import labserve
from labserve.models.base import ServedModel
from labserve.web.extension import get_registry, get_settings

openapi = Blueprint("openapi", __name__)

ERROR = {
    "type": "object",
    "required": ["error", "message", "field"],
    "properties": {
        "error": {"type": "string", "description": "short machine-readable code"},
        "message": {"type": "string", "description": "what is wrong, for a person"},
        "field": {"type": ["string", "null"], "description": "the input at fault, if any"},
    },
}


def error_responses(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def json_ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def component_name(model_name: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in model_name.replace("-", "_").split("_")) + suffix


def predict_path(model: ServedModel, max_batch_rows: int, schemas: dict[str, Any]) -> Any:
    """The predict route of one model, with its own request and response schemas."""
    row_name = component_name(model.name, "Input")
    schemas[row_name] = model.input_schema()
    schemas[component_name(model.name, "Prediction")] = model.output_schema()
    parameters = model.parameters_schema() or {"type": "object", "maxProperties": 0}
    return {
        "post": {
            "summary": f"Predict a batch with {model.name}",
            "parameters": [VERSION_PARAMETER],
            "requestBody": json_body(
                {
                    "type": "object",
                    "required": ["inputs"],
                    "additionalProperties": False,
                    "properties": {
                        "inputs": {
                            "type": "array",
                            "items": {"$ref": f"#/components/schemas/{row_name}"},
                            "minItems": 1,
                            "maxItems": max_batch_rows,
                        },
                        "parameters": parameters,
                    },
                }
            ),
            "responses": {
                **json_ok(
                    {
                        "type": "object",
                        "required": ["model", "version", "predictions"],
                        "properties": {
                            "model": {"type": "string", "const": model.name},
                            "version": {"type": "string"},
                            "predictions": {
                                "type": "array",
                                "items": {
                                    "$ref": "#/components/schemas/"
                                    + component_name(model.name, "Prediction")
                                },
                            },
                        },
                    }
                ),
                **error_responses(400, 404, 413, 415, 422, 503),
            },
        }
    }


VERSION_PARAMETER = {
    "name": "version",
    "in": "query",
    "required": False,
    "description": "a stored version to use instead of the promoted one",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


def build_spec(max_batch_rows: int) -> dict[str, Any]:
    registry = get_registry()
    schemas: dict[str, Any] = {"Error": ERROR}
    paths: dict[str, Any] = {
        "/api/v1/models": {
            "get": {
                "summary": "List models with versions and input schemas",
                "responses": json_ok({"type": "object"}),
            }
        }
    }
    for model in registry:
        if not model.ready:
            continue
        paths[f"/api/v1/models/{model.name}"] = {
            "get": {
                "summary": f"Model card of {model.name}",
                "parameters": [VERSION_PARAMETER],
                "responses": {**json_ok({"type": "object"}), **error_responses(404, 503)},
            }
        }
        paths[f"/api/v1/models/{model.name}/predict"] = predict_path(model, max_batch_rows, schemas)
    diagnosis = "DiagnosisInput" if "DiagnosisInput" in schemas else None
    if diagnosis:
        paths["/api/diagnosis"] = {
            "post": {
                "summary": "Tutorial route: one object of six features -> a diagnosis",
                "requestBody": json_body({"$ref": f"#/components/schemas/{diagnosis}"}),
                "responses": {
                    **json_ok(
                        {
                            "type": "object",
                            "properties": {
                                "diagnosis": {"type": "string"},
                                "probability_malignant": {"type": "number"},
                                "model_version": {"type": "string"},
                            },
                        }
                    ),
                    **error_responses(400, 415, 422, 503),
                },
            }
        }
    if "summarizer" in registry:
        paths["/api/prediction"] = {
            "post": {
                "summary": "Tutorial route: summarise one text",
                "requestBody": json_body(
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "text": {"type": "string", "minLength": 1},
                            "maxlen": {"type": "integer", "minimum": 1},
                            "minlen": {"type": "integer", "minimum": 1},
                            "strip_digits": {"type": "boolean"},
                        },
                    }
                ),
                "responses": {
                    **json_ok(
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"summary_text": {"type": "string"}},
                            },
                        }
                    ),
                    **error_responses(400, 415, 422, 503),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "labserve", "version": labserve.__version__},
        "paths": paths,
        "components": {"schemas": schemas},
    }


@openapi.get("/api/v1/openapi.json")
def openapi_document() -> Any:
    return jsonify(build_spec(get_settings().max_batch_rows))
