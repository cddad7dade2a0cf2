"""Pages for people: the model list, a page per model, its card; chosen by capability.

Every model gets the page of what it can do (``tabular``: a form of its features;
``text``: a text box and its parameters), generated from its schema: no template or route
per model. Validation errors are shown beside their field and the form keeps what was
typed; the same model-layer checks as the API apply.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, send_file, url_for

from labserve.models.base import ServedModel
from labserve.models.errors import InvalidInput, ModelNotFound, ModelNotReady
from labserve.models.features import form_errors
from labserve.models.tabular import TabularModel
from labserve.web.batch_page import UploadView, scored_files, upload_view
from labserve.web.error_summary import FormField, summary_problems
from labserve.web.errors import error_response
from labserve.web.extension import get_registry, get_settings
from labserve.web.model_card import card_view
from labserve.web.predicting import predict_rows, requested_version

ui = Blueprint("ui", __name__)

#: The tutorial's form names its text field ``paragraphs``; text models call it ``text``.
TEXT_FIELD = "paragraphs"
#: A text model that can trace its output to the input does so on its page, always.
TRACE_PARAMETER = "return_sources"
TUTORIAL_PAGES = {"paragraphs": "summarizer"}
TUTORIAL_DEFAULT = "diagnosis"
#: labserve.js sends this header (value ``BATCH_FRAGMENT``) to get the upload section alone.
FRAGMENT_HEADER = "X-Labserve-Fragment"
BATCH_FRAGMENT = "batch"


@ui.get("/")
def index() -> str:
    return render_template("index.html", models=list(get_registry()))


@ui.get("/models/<name>")
def model_page(name: str) -> Any:
    return render_model_page(name, form={})


@ui.post("/models/<name>")
def model_form(name: str) -> Any:
    return render_model_page(name, form=request.form.to_dict(), submitted=True)


@ui.post("/models/<name>/batch")
def score_upload(name: str) -> Any:
    """The page's upload form: the page shows a summary and links to the scored file.

    labserve.js posts the form with ``fetch`` and asks for the upload section alone
    (``FRAGMENT_HEADER``), so the page keeps the chosen file; without JavaScript the whole
    page comes back with the same section.
    """
    model = page_model(name)
    if isinstance(model, tuple):
        return model
    if not isinstance(model, TabularModel):
        abort(404)
    upload = upload_view(model)
    status = 422 if upload.problems else 200
    if request.headers.get(FRAGMENT_HEADER) == BATCH_FRAGMENT:
        context = {**page_context(model), "upload": upload}
        return render_template("_batch.html", **context), status
    return tabular_page(model, {}, submitted=False, upload=upload)


@ui.get("/models/<name>/scored/<token>/<download_name>")
def scored_file(name: str, token: str, download_name: str) -> Any:
    """A kept scored file, by its token (the name at the end only names the download)."""
    if name not in get_registry():
        abort(404)
    store = scored_files()
    path = store.find(token)
    if path is None:
        minutes = round(store.keep_seconds / 60)
        return error_response(
            410,
            "gone",
            f"This scored file is no longer kept (scored files are kept for {minutes} "
            "minutes): upload the file again on the model's page.",
        )
    response = send_file(path, mimetype="text/csv", as_attachment=True, download_name=download_name)
    response.headers["Cache-Control"] = "no-store"
    return response


@ui.post("/prediction")
def tutorial_prediction() -> Any:
    """The tutorial's form route: one URL for both forms, told apart by the fields posted."""
    form = request.form.to_dict()
    name = next((TUTORIAL_PAGES[k] for k in form if k in TUTORIAL_PAGES), TUTORIAL_DEFAULT)
    return render_model_page(name, form=form, submitted=True)


def page_model(name: str) -> ServedModel | tuple[str, int]:
    """The model to show, or the "not ready" page to answer with."""
    registry = get_registry()
    if name not in registry:
        abort(404)
    try:
        model = registry.get(name, requested_version())
    except ModelNotFound:
        abort(404)
    try:
        model.require_ready()
    except ModelNotReady as exc:
        return render_template("not_ready.html", model=model, reason=exc.reason), 503
    return model


def render_model_page(name: str, form: dict[str, str], submitted: bool = False) -> Any:
    model = page_model(name)
    if isinstance(model, tuple):
        return model
    if isinstance(model, TabularModel):
        return tabular_page(model, form, submitted)
    if model.capability == "text":
        return text_page(model, form, submitted)
    abort(404)  # a kind with a capability the web layer has no page for


def page_context(model: ServedModel) -> dict[str, Any]:
    """What every model page shows besides its form: the card, the versions, the actions."""
    registry = get_registry()
    pinned = request.args.get("version")
    return {
        "model": model,
        "card": card_view(model, registry.store),
        "form_action": url_for("ui.model_form", name=model.name, version=pinned),
        "upload_action": url_for(
            "ui.score_upload", name=model.name, version=pinned, _anchor="batch"
        ),
        "max_upload_bytes": get_settings().max_content_length,
        "upload": UploadView(),
    }


def tabular_page(
    model: TabularModel,
    form: dict[str, str],
    submitted: bool,
    upload: UploadView | None = None,
) -> Any:
    values = {spec.name: form.get(spec.name, "").strip() for spec in model.features}
    errors: dict[str, str] = {}
    result = None
    if submitted:
        typed: dict[str, Any] = {
            spec.name: spec.category_for_text(values[spec.name]) if spec.is_category else value
            for spec, value in zip(model.features, values.values(), strict=True)
        }
        row, errors = form_errors(model.input_model, typed)
        if row is not None:
            parameters = {"explain": True} if model.can_explain else None
            prediction = predict_rows(
                model, [row.model_dump(by_alias=True)], parameters, row_prefix=""
            ).predictions[0]
            result = result_view(model, prediction)
    fields = [
        FormField(spec.name, f"f{index}", spec.title) for index, spec in enumerate(model.features)
    ]
    context = page_context(model)
    if upload is not None:
        context["upload"] = upload
    status = 422 if errors or context["upload"].problems else 200
    return (
        render_template(
            "tabular.html",
            **context,
            values=values,
            errors=errors,
            problems=summary_problems(errors, fields),
            result=result,
            submitted=submitted,
        ),
        status,
    )


def result_view(model: TabularModel, prediction: dict[str, Any]) -> dict[str, Any]:
    """The prediction as the page shows it: probabilities sorted, the decision explained."""
    view: dict[str, Any] = dict(prediction)
    probabilities = prediction.get("probabilities")
    if probabilities:
        view["ranked"] = sorted(probabilities.items(), key=lambda item: -item[1])
    if model.positive_index is not None:
        view["decision"] = {"positive_class": model.positive_class, "threshold": model.threshold}
    explained = prediction.get("contributions")
    if explained:
        ranked = sorted(explained["values"].items(), key=lambda item: -abs(item[1]))
        largest = max((abs(v) for _, v in ranked), default=0.0) or 1.0
        view["explanation"] = {
            "of": explained.get("class"),
            "baseline": explained["baseline"],
            "bars": [
                {"feature": name, "value": value, "width": 50 * abs(value) / largest}
                for name, value in ranked
            ],
        }
    return view


def text_page(model: ServedModel, form: dict[str, str], submitted: bool) -> Any:
    """A text box and the model's parameters (read from its parameters schema)."""
    schema = model.parameters_schema() or {"properties": {}}
    parameters = {
        name: spec
        for name, spec in schema.get("properties", {}).items()
        if spec.get("type") in ("integer", "boolean") and name != TRACE_PARAMETER
    }
    traceable = TRACE_PARAMETER in schema.get("properties", {})
    text = form.get(TEXT_FIELD, form.get("text", ""))
    values: dict[str, Any] = {TEXT_FIELD: text}
    errors: dict[str, str] = {}
    result = None
    if submitted:
        given: dict[str, Any] = {}
        for name, spec in parameters.items():
            typed = form.get(name, "").strip()
            values[name] = typed
            if spec["type"] == "boolean":
                given[name] = name in form
            elif typed:
                if typed.lstrip("-").isdigit():
                    given[name] = int(typed)
                else:
                    errors[name] = "must be a whole number"
        if traceable:
            given[TRACE_PARAMETER] = True
        if not errors:
            try:
                result = predict_rows(
                    model, [{"text": text}], given, row_prefix="", parameter_prefix=""
                ).predictions[0]
                if result.get("sources"):
                    result["highlighted"] = highlight(text, result["sources"])
            except InvalidInput as exc:
                field = TEXT_FIELD if exc.field == "text" else exc.field or "__all__"
                errors[field] = exc.message.removeprefix(f"{exc.field}: ")
    fields = [FormField(TEXT_FIELD, TEXT_FIELD, "Text")] + [
        FormField(name, name, spec.get("title") or name) for name, spec in parameters.items()
    ]
    return (
        render_template(
            "text.html",
            **page_context(model),
            parameters=parameters,
            values=values,
            errors=errors,
            problems=summary_problems(errors, fields),
            result=result,
            submitted=submitted,
            text_field=TEXT_FIELD,
        ),
        422 if errors else 200,
    )


def highlight(text: str, sources: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    """The text as (piece, source number or None), so the page can mark each source span.

    Spans come in document order and never overlap; numbers start at 1, as the summary's
    sentences are numbered on the page.
    """
    pieces: list[tuple[str, int | None]] = []
    position = 0
    for number, source in enumerate(sources, start=1):
        start, end = int(source["start"]), int(source["end"])
        if start > position:
            pieces.append((text[position:start], None))
        pieces.append((text[start:end], number))
        position = end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces
