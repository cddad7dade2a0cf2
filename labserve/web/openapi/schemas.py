"""The component schemas every model shares: errors, listings, cards, versions, the audit
log, health. Each states exactly what its route answers (``tests/test_api_contract.py`` runs
Schemathesis against a live server and fails on any difference)."""

from __future__ import annotations

from typing import Any

from labserve.db.audit import EXPORT_FIELDS, MAX_LIST_LIMIT
from labserve.models.tabular import WARNINGS_SCHEMA

Schema = dict[str, Any]

ERROR: Schema = {
    "type": "object",
    "description": "Every error of the API has this shape.",
    "required": ["error", "message", "field"],
    "additionalProperties": False,
    "properties": {
        "error": {"type": "string", "description": "short machine-readable code"},
        "message": {"type": "string", "description": "what is wrong, for a person"},
        "field": {"type": ["string", "null"], "description": "the input at fault, if any"},
    },
}

WARNINGS: Schema = WARNINGS_SCHEMA

MODEL_INFO: Schema = {
    "type": "object",
    "required": [
        "name",
        "title",
        "summary",
        "kind",
        "capability",
        "version",
        "status",
        "input_schema",
    ],
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "kind": {"type": "string", "description": "how it is served: sklearn, onnx, ..."},
        "capability": {"type": "string", "description": "tabular or text"},
        "version": {"type": "string", "description": "the promoted version"},
        "status": {
            "type": "string",
            "description": "`ready`, `loading` or `failed: <reason>`",
        },
        "input_schema": {
            "type": ["object", "null"],
            "description": "JSON Schema of one input row (as in the predict route)",
        },
    },
}

MODEL_LIST: Schema = {
    "type": "object",
    "required": ["models"],
    "properties": {
        "models": {"type": "array", "items": {"$ref": "#/components/schemas/ModelInfo"}}
    },
}

MODEL_CARD: Schema = {
    "type": "object",
    "description": "metadata.json of the version as stored, plus how it is served. Keys "
    "beyond these depend on the kind of model and on how it was saved (metrics, "
    "feature_importances, libraries, ...).",
    "required": ["name", "version", "kind", "capability", "title", "registration"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "kind": {"type": "string"},
        "capability": {"type": "string"},
        "title": {"type": "string"},
        "registration": {
            "type": "object",
            "description": "when and from what this version was added to the store",
            "properties": {
                "added_at": {"type": "string"},
                "source": {"type": "string"},
                "version": {"type": "string"},
            },
        },
        "metrics": {"type": "object", "description": "cross-validated and held-out metrics"},
    },
}

NUMBER_FEATURE: Schema = {
    "type": "object",
    "required": [
        "name",
        "type",
        "label",
        "unit",
        "description",
        "minimum",
        "maximum",
        "training_min",
        "training_max",
        "integer",
    ],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "type": {"const": "number"},
        "label": {"type": "string"},
        "unit": {"type": "string"},
        "description": {"type": "string"},
        "minimum": {"type": ["number", "null"], "description": "hard limit (refused below)"},
        "maximum": {"type": ["number", "null"], "description": "hard limit (refused above)"},
        "training_min": {"type": ["number", "null"], "description": "warned below"},
        "training_max": {"type": ["number", "null"], "description": "warned above"},
        "integer": {"type": "boolean", "description": "only whole numbers were seen"},
    },
}

CATEGORY_FEATURE: Schema = {
    "type": "object",
    "required": ["name", "type", "label", "unit", "description", "categories"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "type": {"const": "category"},
        "label": {"type": "string"},
        "unit": {"type": "string"},
        "description": {"type": "string"},
        "categories": {"type": "array", "description": "the values it takes (empty: any text)"},
    },
}

TABULAR_CARD: Schema = {
    "allOf": [
        {"$ref": "#/components/schemas/ModelCard"},
        {
            "type": "object",
            "required": ["features"],
            "properties": {
                "task": {"enum": ["classification", "regression"]},
                "classes": {"type": "array"},
                "features": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/NumberFeature"},
                            {"$ref": "#/components/schemas/CategoryFeature"},
                        ]
                    },
                },
                "examples": {
                    "type": "object",
                    "description": "typical cases (per class), each an input row",
                    "additionalProperties": {"type": "object"},
                },
            },
        },
    ]
}

VERSION_LIST: Schema = {
    "type": "object",
    "required": ["model", "promoted", "versions"],
    "properties": {
        "model": {"type": "string"},
        "promoted": {"type": ["string", "null"], "description": "the version served by default"},
        "versions": {
            "type": "array",
            "description": "oldest first",
            "items": {
                "type": "object",
                "required": ["version", "promoted", "kind", "added_at", "source"],
                "properties": {
                    "version": {"type": "string"},
                    "promoted": {"type": "boolean"},
                    "kind": {"type": "string"},
                    "added_at": {"type": ["string", "null"], "description": "ISO 8601"},
                    "source": {"type": ["string", "null"], "description": "what it was added from"},
                },
            },
        },
    },
}

AUDIT_RECORD: Schema = {
    "type": "object",
    "required": list(EXPORT_FIELDS),  # what the API and `labserve audit export` both give
    "properties": {
        "id": {"type": "integer"},
        "created_at": {"type": "string", "description": "ISO 8601, UTC"},
        "model": {"type": "string"},
        "model_version": {"type": "string"},
        "caller": {"type": "string", "description": "key name, `ui` or `anonymous`"},
        "request_id": {"type": "string"},
        "rows": {"type": "integer", "minimum": 0},
        "inputs": {
            "description": "the inputs as sent; null when LABSERVE_AUDIT_INPUTS=hash; for a "
            "CSV file its sha256 and row count",
        },
        "inputs_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "outputs": {"description": "the predictions (for a CSV file, the label counts)"},
        "latency_ms": {"type": "number", "minimum": 0},
        "record_id": {
            "type": ["string", "null"],
            "description": "the record's unique id in the journal (null for records kept "
            "before the journal)",
        },
    },
}

AUDIT_LIST: Schema = {
    "type": "object",
    "required": ["predictions"],
    "properties": {
        "predictions": {
            "type": "array",
            "maxItems": MAX_LIST_LIMIT,
            "items": {"$ref": "#/components/schemas/AuditRecord"},
        }
    },
}

HEALTH: Schema = {
    "type": "object",
    "required": ["status"],
    "additionalProperties": False,
    "properties": {"status": {"const": "ok"}},
}

READINESS: Schema = {
    "type": "object",
    "required": ["status", "models"],
    "properties": {
        "status": {"enum": ["ready", "not_ready"]},
        "reason": {"type": "string", "description": "which models are not ready, and why"},
        "models": {
            "type": "object",
            "description": "the status of each model",
            "additionalProperties": {"type": "string"},
        },
    },
}

SCHEMAS: Schema = {
    "Error": ERROR,
    "Warnings": WARNINGS,
    "ModelInfo": MODEL_INFO,
    "ModelList": MODEL_LIST,
    "ModelCard": MODEL_CARD,
    "NumberFeature": NUMBER_FEATURE,
    "CategoryFeature": CATEGORY_FEATURE,
    "TabularCard": TABULAR_CARD,
    "VersionList": VERSION_LIST,
    "AuditRecord": AUDIT_RECORD,
    "AuditList": AUDIT_LIST,
    "Health": HEALTH,
    "Readiness": READINESS,
}
