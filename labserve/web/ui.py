"""Pages for people: the model list, a form per model, the model card.

Validation errors are shown beside their field and the form keeps what was typed; the same
model-layer checks as the API apply.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from labserve.models.errors import InvalidInput, ModelNotFound, ModelNotReady
from labserve.models.features import form_errors
from labserve.web.extension import get_registry
from labserve.web.predicting import get_model, predict_rows

ui = Blueprint("ui", __name__)


@ui.get("/")
def index() -> str:
    return render_template("index.html", models=list(get_registry()))


@ui.get("/models/<name>")
def model_page(name: str) -> Any:
    return render_model_page(name, form={})


@ui.post("/models/<name>")
def model_form(name: str) -> Any:
    return render_model_page(name, form=request.form.to_dict(), submitted=True)


@ui.post("/models/<name>/score.csv")
def score_upload(name: str) -> Any:
    """The page's upload form: the scored file comes back as a download."""
    from labserve.web.csv_routes import scored_csv_response, uploaded_lines

    try:
        return scored_csv_response(name, uploaded_lines())
    except InvalidInput as exc:
        if name != "diagnosis":
            raise
        return diagnosis_page({}, submitted=False, upload_error=exc.message)


@ui.post("/prediction")
def tutorial_prediction() -> Any:
    """The tutorial's form route: one URL for both forms, told apart by the fields posted."""
    form = request.form.to_dict()
    name = "summarizer" if "paragraphs" in form else "diagnosis"
    return render_model_page(name, form=form, submitted=True)


def render_model_page(name: str, form: dict[str, str], submitted: bool = False) -> Any:
    registry = get_registry()
    if name not in registry:
        abort(404)
    model = registry.get(name)
    try:
        model.require_ready()
    except ModelNotReady as exc:
        return render_template("not_ready.html", model=model, reason=exc.reason), 503
    if name == "diagnosis":
        return diagnosis_page(form, submitted)
    if name == "summarizer":
        from labserve.web.ui_summarizer import summarizer_page

        return summarizer_page(form, submitted)
    raise ModelNotFound(name)  # pragma: no cover - registry and pages are kept in step


def diagnosis_page(form: dict[str, str], submitted: bool, upload_error: str | None = None) -> Any:
    model = get_model("diagnosis")
    values = {f.name: form.get(f.name, "").strip() for f in model.features}  # type: ignore[attr-defined]
    errors: dict[str, str] = {}
    result = None
    if submitted:
        row, errors = form_errors(model.input_model, values)
        if row is not None:
            result = predict_rows("diagnosis", [row.model_dump()], row_prefix="")
    status = 422 if errors or upload_error else 200
    card = model.card()
    ranges = {f["name"]: f for f in card.get("features", [])}
    outside = [
        spec.label
        for spec in model.features  # type: ignore[attr-defined]
        if result is not None
        and spec.name in ranges
        and not ranges[spec.name]["training_min"]
        <= float(values[spec.name])
        <= ranges[spec.name]["training_max"]
    ]
    return (
        render_template(
            "diagnosis.html",
            model=model,
            card=card,
            ranges=ranges,
            values=values,
            errors=errors,
            outside=outside,
            upload_error=upload_error,
            result=result.predictions[0] if result else None,
            version=result.version if result else model.version,
        ),
        status,
    )
