"""The operations of each served model, built from the model's own schemas.

A model states its input row, its parameters and one prediction as JSON Schema
(``input_schema``, ``parameters_schema``, ``output_schema``); its metadata.json may hold
typical cases (``examples``). Everything here is derived from those, so the documentation of a
model cannot drift from what its routes accept, and a model added to the store is documented
the moment it is served. The example answers are the model's own answers to the examples.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from labserve.models.base import ServedModel
from labserve.models.csv_scoring import supports_csv
from labserve.models.errors import InvalidInput
from labserve.models.tabular import TabularModel
from labserve.web.openapi.components import (
    VERSION_PARAMETER,
    api_responses,
    json_request_body,
    ok_response,
    ref,
)
from labserve.web.openapi.csv_bodies import (
    csv_body_schema,
    csv_example,
    csv_output_description,
    scored_example,
)
from labserve.web.openapi.schemas import Schema

log = logging.getLogger(__name__)


class ModelComponents:
    """Names and registers each model's component schemas, keeping names unique."""

    def __init__(self, schemas: Schema) -> None:
        self.schemas = schemas
        self._owner: dict[str, str] = {}

    def name(self, model: ServedModel, suffix: str) -> str:
        base = "".join(part.capitalize() for part in model.name.replace("-", "_").split("_"))
        name, n = base + suffix, 2
        while self._owner.setdefault(name, model.name) != model.name:
            name, n = f"{base}{n}{suffix}", n + 1
        return name

    def add(self, model: ServedModel, suffix: str, schema: Schema) -> Schema:
        name = self.name(model, suffix)
        self.schemas[name] = schema
        return ref(name)


def row_examples(model: ServedModel) -> dict[str, dict[str, Any]]:
    """Valid example rows by name: metadata.json's typical cases, else the schema's examples.

    An example that the model would refuse is left out: the docs offer it as a request to try.
    """
    found: dict[str, Any] = {}
    cases = model.metadata.get("examples")
    if isinstance(cases, Mapping):
        found = dict(cases)
    else:
        listed = model.input_schema().get("examples")
        if isinstance(listed, list):
            found = {f"example {i}": row for i, row in enumerate(listed, start=1)}
    valid: dict[str, dict[str, Any]] = {}
    for label, row in found.items():
        try:
            model.validate([row])
        except InvalidInput:
            continue
        valid[str(label)] = row
    return valid


def example_answers(model: ServedModel, rows: Mapping[str, Any]) -> dict[str, Any]:
    """The model's prediction for each example row, shown as the example answers; none when
    the model cannot answer them (the document is still served)."""
    if not rows:
        return {}
    try:
        valid = model.validate(list(rows.values()))
        predictions = model.predict_valid(valid, model.validate_parameters(None))
    except Exception:
        log.warning("no example answers for %s", model.name, exc_info=True)
        return {}
    return dict(zip(rows, predictions, strict=True))


def media_examples(values: Mapping[str, Any]) -> Schema:
    """OpenAPI Example Objects, one per named value."""
    return {label: {"summary": label, "value": value} for label, value in values.items()}


class ModelOperations:
    """Every operation of one served model, and the components they use."""

    def __init__(
        self,
        model: ServedModel,
        components: ModelComponents,
        *,
        max_batch_rows: int,
        security: list[dict[str, list[str]]],
        limited: bool,
    ) -> None:
        self.model = model
        self.components = components
        self.max_batch_rows = max_batch_rows
        self.security = security
        self.limited = limited
        self.examples = row_examples(model)
        self.answers = example_answers(model, self.examples)
        self.input_ref = components.add(model, "Input", self._input_schema())
        self.prediction_ref = components.add(model, "Prediction", model.output_schema())
        parameters = model.parameters_schema()
        self.parameters_ref = (
            None if parameters is None else components.add(model, "Parameters", parameters)
        )

    def _input_schema(self) -> Schema:
        schema = dict(self.model.input_schema())
        if self.examples:
            schema["examples"] = list(self.examples.values())
        return schema

    def responses(self, ok: Schema, *statuses: int) -> Schema:
        return api_responses(ok, *statuses, limited=self.limited)

    def operation(self, operation_id: str, summary: str, **fields: Any) -> Schema:
        return {
            "tags": [self.model.name],
            "operationId": f"{operation_id}_{self.model.name}".replace("-", "_"),
            "summary": summary,
            "security": self.security,
            **fields,
        }

    def paths(self) -> Schema:
        name = self.model.name
        base = f"/api/v1/models/{name}"
        out: Schema = {
            base: {"get": self.card()},
            f"{base}/versions": {"get": self.versions()},
            f"{base}/predict": {"post": self.predict()},
        }
        if supports_csv(self.model):
            out[f"{base}/predict.csv"] = {"post": self.predict_csv(self.model)}
        return out

    def card(self) -> Schema:
        card = ref("TabularCard" if isinstance(self.model, TabularModel) else "ModelCard")
        return self.operation(
            "card",
            f"Model card of {self.model.name}",
            parameters=[VERSION_PARAMETER],
            responses=self.responses(ok_response(card), 404, 422, 503),
        )

    def versions(self) -> Schema:
        return self.operation(
            "versions",
            f"Stored versions of {self.model.name}",
            responses=self.responses(ok_response(ref("VersionList")), 404),
        )

    def predict(self) -> Schema:
        model = self.model
        if self.parameters_ref is None:
            parameters: Schema = {
                "type": ["object", "null"],
                "maxProperties": 0,
                "description": "this model takes no parameters",
            }
        else:
            parameters = {
                "anyOf": [self.parameters_ref, {"type": "null"}],
                "description": "omitted or null: the defaults",
            }
        body = {
            "type": "object",
            "required": ["inputs"],
            "additionalProperties": False,
            "properties": {
                "inputs": {
                    "type": "array",
                    "items": self.input_ref,
                    "minItems": 1,
                    "maxItems": self.max_batch_rows,
                },
                "parameters": parameters,
            },
        }
        answer = {
            "type": "object",
            "required": ["model", "version", "predictions"],
            "additionalProperties": False,
            "properties": {
                "model": {"type": "string", "const": model.name},
                "version": {"type": "string"},
                "predictions": {
                    "type": "array",
                    "description": "one per input row, in order",
                    "items": self.prediction_ref,
                },
            },
        }
        examples = media_examples({k: {"inputs": [row]} for k, row in self.examples.items()})
        answers = media_examples(
            {
                label: {"model": model.name, "version": model.version, "predictions": [answer]}
                for label, answer in self.answers.items()
            }
        )
        return self.operation(
            "predict",
            f"Predict a batch with {model.name}",
            description=f"Up to {self.max_batch_rows:,} rows per request. The first invalid "
            "row is reported (422, with `field` such as `inputs[3].x`); nothing is predicted "
            "then.",
            parameters=[VERSION_PARAMETER],
            requestBody=json_request_body(body, examples),
            responses=self.responses(
                ok_response(answer, examples=answers), 400, 403, 404, 413, 415, 422, 503
            ),
        )

    def predict_csv(self, model: TabularModel) -> Schema:
        body = csv_body_schema(model)
        example = csv_example(model, self.examples)
        upload = {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    **body,
                    "description": "the CSV file (or its text). " + body["description"],
                }
            },
        }
        filename = {
            "description": "a file part (a text field named `file` is read the same way)",
            "schema": {"type": "string"},
            "example": 'form-data; name="file"; filename="cases.csv"',
        }
        answer = {"type": "string", "contentMediaType": "text/csv"}
        ok = ok_response(answer, csv_output_description(model), "text/csv")
        scored = scored_example(model, example) if self.examples else None
        if scored is not None:
            ok["content"]["text/csv"]["example"] = scored
        ok["headers"]["Content-Disposition"] = {
            "description": "a download named after the model",
            "schema": {"type": "string"},
        }
        return self.operation(
            "predict_csv",
            f"Score a CSV file with {model.name}",
            description="CSV in, CSV out, streamed in constant memory: send the file as the "
            "body (`Content-Type: text/csv`) or as the `file` field of a multipart upload.",
            parameters=[VERSION_PARAMETER],
            requestBody={
                "required": True,
                "content": {
                    "text/csv": {"schema": body, "example": example},
                    "multipart/form-data": {
                        "schema": upload,
                        "encoding": {
                            "file": {
                                "contentType": "text/csv",
                                "headers": {"Content-Disposition": filename},
                            }
                        },
                        "example": {"file": example},
                    },
                },
            },
            responses=self.responses(ok, 403, 404, 413, 415, 422, 503),
        )
