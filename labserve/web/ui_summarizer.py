"""The summarizer's page: a text box, length fields, the summary with word counts."""

from __future__ import annotations

from typing import Any

from flask import render_template

from labserve.models.errors import InvalidInput
from labserve.models.summarizer.model import DEFAULT_MAXLEN, DEFAULT_MINLEN
from labserve.web.predicting import get_model, predict_rows

#: The form's field names are the tutorial's (``paragraphs``), the model's are ``text``.
FORM_FIELD_OF = {"text": "paragraphs"}


def parse_whole_numbers(
    form: dict[str, str], names: tuple[str, ...]
) -> tuple[dict[str, int], dict[str, str]]:
    """Form text -> ints for the fields that were filled in; blank fields keep their default."""
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name in names:
        typed = form.get(name, "").strip()
        if not typed:
            continue
        try:
            values[name] = int(typed)
        except ValueError:
            errors[name] = "must be a whole number"
    return values, errors


def summarizer_page(form: dict[str, str], submitted: bool) -> Any:
    model = get_model("summarizer")
    text = form.get("paragraphs", "")
    values = {
        "paragraphs": text,
        "maxlen": form.get("maxlen", ""),
        "minlen": form.get("minlen", ""),
    }
    errors: dict[str, str] = {}
    result = None
    if submitted:
        parameters, errors = parse_whole_numbers(form, ("maxlen", "minlen"))
        try:
            model.validate([{"text": text}], row_prefix="")
        except InvalidInput as exc:
            errors["paragraphs"] = exc.message.removeprefix("text: ")
        if not errors:
            try:
                result = predict_rows(
                    "summarizer", [{"text": text}], parameters, row_prefix="", parameter_prefix=""
                ).predictions[0]
            except InvalidInput as exc:
                field = FORM_FIELD_OF.get(exc.field or "", exc.field or "__all__")
                errors[field] = exc.message.removeprefix(f"{exc.field}: ")
    card = model.card()
    return (
        render_template(
            "summarizer.html",
            model=model,
            card=card,
            values=values,
            errors=errors,
            result=result,
            version=model.version,
            defaults={"maxlen": DEFAULT_MAXLEN, "minlen": DEFAULT_MINLEN},
        ),
        422 if errors else 200,
    )
