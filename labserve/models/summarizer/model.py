"""Serving text summaries: input and parameter checks, backend choice, the model card.

Two backends sit behind one interface. ``extractive`` (the default) ranks and copies whole
sentences of the text: offline, fast, no torch, and it cannot invent facts, which matters
for doses and gene names. ``transformers`` writes abstractive summaries with a seq2seq
model; it is imported only when chosen, inside ``_load``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from labserve.models.base import ModelSource, Prediction, ServedModel
from labserve.models.errors import InvalidInput, ModelNotReady
from labserve.models.features import describe_validation_error
from labserve.models.summarizer import extractive
from labserve.models.summarizer.cleaning import clean_text, count_words
from labserve.models.summarizer.sentences import SPLITTER_NAME
from labserve.models.summarizer.spans import TracedSummary, summarize_batch_with_sources

if TYPE_CHECKING:
    from labserve.models.summarizer.transformers_backend import TransformersSummarizer

#: Longest text accepted in one input, in characters (about 150,000 words of English).
MAX_TEXT_CHARS = 1_000_000
#: Ceiling of ``maxlen``: 1024 is the longest output of the usual BART/PEGASUS summarisers,
#: and an extractive summary longer than that is no longer a summary.
MAX_SUMMARY_LENGTH = 1024
DEFAULT_MAXLEN = 60
DEFAULT_MINLEN = 30
DEFAULT_MODEL_ID = "sshleifer/distilbart-cnn-12-6"
BACKENDS: tuple[str, ...] = ("extractive", "transformers")
EXTRACTIVE_VERSION = "extractive-1.0"


#: What ``clean_text`` keeps, as a JSON Schema pattern: a text must hold one such character.
#: Not whitespace (``\s`` means the same here in Python and ECMA-262 regexes once controls are
#: excluded), not a control character, not one of the invisible characters cleaning removes.
VISIBLE_TEXT_PATTERN = "[^\\s\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u200b\\u2060\\ufeff]"
#: The example the API documentation offers (and the contract test sends).
EXAMPLE_TEXT = (
    "Cisplatin resistance limits the treatment of ovarian cancer. We measured p53 expression "
    "in 120 tumour samples before and after 3.5 mg/mL cisplatin. Expression rose by 35% in "
    "resistant tumours and did not change in sensitive ones. The effect was strongest in "
    "BRCA1 carriers. p53 expression may therefore mark resistance before treatment starts."
)


class SummaryInput(BaseModel):
    """One text to summarise."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"text": EXAMPLE_TEXT}]}
    )

    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        title="Text",
        description="The text to summarise (plain text; blank lines separate paragraphs). It "
        "must hold a visible character, not only whitespace or control characters.",
        json_schema_extra={"pattern": VISIBLE_TEXT_PATTERN},
    )

    @field_validator("text")
    @classmethod
    def _has_visible_text(cls, value: str) -> str:
        if not clean_text(value):
            raise PydanticCustomError("blank_text", "must contain text, not only whitespace")
        return value


def _whole_float_as_int(value: Any) -> Any:
    """JSON Schema counts ``60.0`` as an integer, so it is taken as 60 (never 60.5 or true)."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: A whole number in strict mode that also takes a JSON number written as ``60.0``.
WholeNumber = Annotated[int, BeforeValidator(_whole_float_as_int)]


class SummaryParameters(BaseModel):
    """Request-level summary settings.

    Lengths are words for the extractive backend and model tokens for transformers. A
    ``minlen`` above ``maxlen`` (given, or the default 30 with a short ``maxlen``) counts as
    ``maxlen``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    maxlen: WholeNumber = Field(
        title="Maximum length",
        default=DEFAULT_MAXLEN,
        ge=1,
        le=MAX_SUMMARY_LENGTH,
        description="Longest summary (words for extractive, tokens for transformers).",
    )
    minlen: WholeNumber = Field(
        title="Minimum length",
        default=DEFAULT_MINLEN,
        ge=1,
        le=MAX_SUMMARY_LENGTH,
        validate_default=True,  # the default 30 is capped by a smaller maxlen too
        description="Shortest summary, when the text is long enough; above maxlen it counts "
        "as maxlen.",
    )
    strip_digits: bool = Field(
        title="Strip digits",
        default=False,
        description="Remove all digits first (the old tutorial behaviour; loses doses, genes).",
    )
    return_sources: bool = Field(
        default=False,
        description=(
            "Add 'sources': each summary sentence's character span (start, end, text) in the "
            "input as sent. Extractive backend only."
        ),
    )

    # Capped rather than refused: a refusal would make a request's validity depend on two
    # fields at once, which the JSON Schema published to API clients cannot state.
    @field_validator("minlen")
    @classmethod
    def _minlen_within_maxlen(cls, value: int, info: ValidationInfo) -> int:
        maxlen = info.data.get("maxlen")  # absent when maxlen itself was invalid
        return value if maxlen is None else min(value, maxlen)


class SummarizerModel(ServedModel):
    """Summaries of scientific text, extractive by default."""

    kind: ClassVar[str] = "summarizer"
    capability: ClassVar[str] = "text"
    parameters_model: ClassVar[type[BaseModel] | None] = SummaryParameters
    input_model = SummaryInput

    def __init__(
        self,
        source: ModelSource | None = None,
        *,
        backend: str | None = None,
        model_id: str | None = None,
    ) -> None:
        """Choose the backend; nothing heavy happens until ``load()``.

        Args:
            source: the stored version; its metadata.json may pin ``backend`` and
                ``model_id``, otherwise the settings choose (``LABSERVE_SUMMARIZER_*``).
                Without a source (tests, scripts) the model stands alone.
            backend: ``"extractive"`` (offline, default) or ``"transformers"``; overrides.
            model_id: Hugging Face model for the transformers backend; defaults to
                ``DEFAULT_MODEL_ID``. Meaningless for extractive, so giving one is an error.

        Raises:
            ValueError: An unknown backend, or a model_id for the extractive backend.
        """
        if source is None:
            source = ModelSource(
                name="summarizer", version="0", path=Path("."), metadata=builtin_metadata()
            )
        super().__init__(source)
        settings, metadata = source.settings, source.metadata
        if backend is None:
            backend = str(metadata.get("backend") or settings.summarizer_backend)
            if model_id is None:
                model_id = metadata.get("model_id") or settings.summarizer_model
            if backend == "extractive":
                model_id = None
        if backend not in BACKENDS:
            raise ValueError(f"unknown summarizer backend {backend!r}; choose one of {BACKENDS}")
        if backend == "extractive" and model_id is not None:
            raise ValueError("model_id applies only to the transformers backend")
        self.backend = backend
        self.max_request_chars = settings.summarizer_max_request_chars
        self.model_id = (model_id or DEFAULT_MODEL_ID) if backend == "transformers" else None
        self._transformers: TransformersSummarizer | None = None
        if backend == "extractive":
            self.summary = "Extractive summaries: whole sentences of the text, offline, no GPU."
        else:
            self.summary = f"Abstractive summaries by the transformers model {self.model_id}."

    # -- life cycle ---------------------------------------------------------------------------
    def _load(self) -> None:
        if self.backend == "transformers":
            from labserve.models.summarizer.transformers_backend import TransformersSummarizer

            summarizer = TransformersSummarizer(self.model_id or DEFAULT_MODEL_ID)
            summarizer.load()
            self._transformers = summarizer
        else:
            # Loads the sentence model and scikit-learn now rather than on the first request.
            extractive.summarize_extractive("Warm up the splitter. Then rank it.", 5, 1)

    @property
    def engine(self) -> str:
        """What writes the summaries (the card and the audit log say it)."""
        if self.backend == "transformers":
            return f"transformers:{self.model_id}"
        return EXTRACTIVE_VERSION

    # -- validation ---------------------------------------------------------------------------
    def validate(
        self, rows: Sequence[object], *, row_prefix: str = "inputs[{index}]."
    ) -> list[SummaryInput]:
        """Check every row is ``{"text": <non-blank string>}``; the first bad one raises.

        The texts of one request together may hold at most ``max_request_chars`` characters
        (``LABSERVE_SUMMARIZER_MAX_REQUEST_CHARS``): the summarizer's cost is linear in them,
        so this bounds the time one request can hold a worker thread.

        Args:
            rows: Decoded JSON values, one per text.
            row_prefix: Formatted with the row index to name the field (``""`` for a single
                object route).

        Raises:
            InvalidInput: Naming the field, e.g. ``inputs[2].text``; ``inputs`` (``text`` on a
                single object route) when the texts together are over the budget.
        """
        valid: list[SummaryInput] = []
        total = 0
        for index, row in enumerate(rows):
            try:
                valid.append(SummaryInput.model_validate(row, strict=True))
            except ValidationError as exc:
                raise _invalid_input(exc, row_prefix.format(index=index)) from None
            total += len(valid[-1].text)
            if total > self.max_request_chars:
                field = row_prefix.split("[", 1)[0] if "[" in row_prefix else "text"
                raise InvalidInput(
                    f"{field}: the texts of one request may hold {self.max_request_chars:,} "
                    f"characters together; these reach {total:,} by text {index + 1} of "
                    f"{len(rows)} (send them in smaller requests)",
                    field=field,
                )
        return valid

    def validate_parameters(
        self, parameters: Mapping[str, Any] | None, *, field_prefix: str = "parameters."
    ) -> Any:
        """Check ``maxlen``, ``minlen`` and ``strip_digits``; unknown names are errors.

        Args:
            parameters: The decoded ``parameters`` object, or None for the defaults.
            field_prefix: Put before a parameter's name in ``InvalidInput.field``.

        Raises:
            InvalidInput: Naming the parameter, e.g. ``parameters.maxlen``.
        """
        if parameters is None:
            return SummaryParameters()
        if not isinstance(parameters, Mapping):
            field = field_prefix.rstrip(".") or None
            raise InvalidInput(f"{field}: must be a JSON object", field=field)
        try:
            return SummaryParameters.model_validate(dict(parameters), strict=True)
        except ValidationError as exc:
            raise _invalid_input(exc, field_prefix) from None

    # -- prediction ---------------------------------------------------------------------------
    def predict_valid(
        self, rows: Sequence[SummaryInput], parameters: Any = None
    ) -> list[Prediction]:
        """Summarise all rows as one batch.

        ``input_words`` counts the words the summariser saw (after cleaning, so after digit
        removal when ``strip_digits`` is on); ``summary_words`` counts words of the summary.
        """
        params = parameters if isinstance(parameters, SummaryParameters) else SummaryParameters()
        texts = [clean_text(row.text, strip_digits=params.strip_digits) for row in rows]
        traced = self._summarize_with_sources(rows, params) if params.return_sources else None
        summaries = (
            [item.summary for item in traced]
            if traced is not None
            else self._summarize_batch(texts, params)
        )
        predictions: list[Prediction] = [
            {
                "summary_text": summary,
                "input_words": count_words(text),
                "summary_words": count_words(summary),
                "backend": self.backend,
            }
            for text, summary in zip(texts, summaries, strict=True)
        ]
        for prediction, item in zip(predictions, traced or [], strict=False):
            prediction["sources"] = [source.as_dict() for source in item.sources]
        return predictions

    def _summarize_with_sources(
        self, rows: Sequence[SummaryInput], params: SummaryParameters
    ) -> list[TracedSummary]:
        # Spans point into text as sent, so the extractive backend cleans it itself (with an
        # offset map); an abstractive summary has no spans to give.
        if self.backend != "extractive":
            raise InvalidInput(
                "parameters.return_sources: only the extractive backend can trace sentences",
                field="parameters.return_sources",
            )
        return summarize_batch_with_sources(
            [row.text for row in rows],
            params.maxlen,
            params.minlen,
            strip_digits=params.strip_digits,
        )

    def _summarize_batch(self, texts: list[str], params: SummaryParameters) -> list[str]:
        # Digit stripping may leave nothing of a text; its summary is then empty.
        todo = [i for i, text in enumerate(texts) if text]
        summaries = [""] * len(texts)
        if not todo:
            return summaries
        batch = [texts[i] for i in todo]
        if self.backend == "transformers":
            summarizer = self._transformers
            if summarizer is None:  # set only by a successful load()
                raise ModelNotReady(self.name, self.status)
            done = summarizer.summarize_batch(batch, params.maxlen, params.minlen)
        else:
            done = extractive.summarize_batch(batch, params.maxlen, params.minlen)
        for i, summary in zip(todo, done, strict=True):
            summaries[i] = summary
        return summaries

    # -- description --------------------------------------------------------------------------
    def output_schema(self) -> dict[str, Any]:
        """One summary, as ``predict_valid`` returns it."""
        return {
            "type": "object",
            "required": ["summary_text", "input_words", "summary_words", "backend"],
            "additionalProperties": False,
            "properties": {
                "summary_text": {
                    "type": "string",
                    "description": "the summary (empty when nothing of the text is left after "
                    "strip_digits)",
                },
                "input_words": {"type": "integer", "minimum": 0},
                "summary_words": {"type": "integer", "minimum": 0},
                "backend": {"enum": list(BACKENDS)},
                "sources": {
                    "type": "array",
                    "description": "with return_sources: each summary sentence's span in the "
                    "input as sent (end exclusive, in characters)",
                    "items": {
                        "type": "object",
                        "required": ["start", "end", "text"],
                        "additionalProperties": False,
                        "properties": {
                            "start": {"type": "integer", "minimum": 0},
                            "end": {"type": "integer", "minimum": 0},
                            "text": {"type": "string"},
                        },
                    },
                },
            },
        }

    def card(self) -> dict[str, Any]:
        """Which backend serves, how lengths are counted, the limits, the splitter."""
        transformers = self.backend == "transformers"
        card: dict[str, Any] = {
            **super().card(),
            "engine": self.engine,
            "backend": self.backend,
            "model_id": self.model_id,
            "method": (
                f"Abstractive summary by the seq2seq model {self.model_id}; long texts are "
                "split into chunks at sentence boundaries."
                if transformers
                else "Extractive: each sentence is rated by its TF-IDF similarity to the rest "
                "of the document and by how many of its words a summary would use, adjusted "
                "for wording cues (stated aims, findings and conclusions up; figure, protocol "
                "and citation detail down) and for its place in the paper (opening sentence, "
                "conclusions; back matter left out). A knapsack picks the sentences that best "
                "fill maxlen, never a repeat; a sentence may lose a lead-in ('However, ') or a "
                f"trailing side clause (then it ends with '{extractive.ELLIPSIS}'), and one "
                "longer than maxlen may be cut. Copied in document order; each can be traced "
                "to its span in the input."
            ),
            "length_unit": "model tokens" if transformers else "words",
            "parameters": {
                "maxlen": f"longest summary, 1 to {MAX_SUMMARY_LENGTH}, default {DEFAULT_MAXLEN}",
                "minlen": (
                    f"shortest summary when the text allows, 1 to {MAX_SUMMARY_LENGTH}, default "
                    f"{DEFAULT_MINLEN}; above maxlen it counts as maxlen"
                ),
                "strip_digits": "remove digits before summarising; default false",
            },
            "limits": {
                "max_text_chars": MAX_TEXT_CHARS,
                "max_summary_length": MAX_SUMMARY_LENGTH,
            },
            "sentence_splitter": (
                f"{SPLITTER_NAME} {_version_of(SPLITTER_NAME)} (Punkt, pre-trained English) "
                "with fix-ups for scientific abbreviations, citations and units"
            ),
            "digits": (
                "kept (doses such as 3.5 mg/mL, genes such as p53, years) unless the "
                "strip_digits parameter is true"
            ),
            "libraries": {name: _version_of(name) for name in ("nupunkt", "scikit-learn", "numpy")},
            "intended_use": (
                "Quick overviews of papers, reports and notes. Check any number or claim "
                "against the source before relying on it."
            ),
        }
        if transformers and self._transformers is not None:
            card["transformers"] = self._transformers.describe()
        return card


#: Clearer words than pydantic's (or the generic numeric ones) for this model's fields.
_MESSAGES: dict[str, str] = {
    "model_type": 'each input must be a JSON object like {"text": "..."}',
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_too_long": f"must be at most {MAX_TEXT_CHARS:,} characters",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
}


def _invalid_input(exc: ValidationError, prefix: str) -> InvalidInput:
    """The first complaint as ``InvalidInput``, named as ``describe_validation_error`` names it."""
    error = describe_validation_error(exc, prefix=prefix)
    message = _MESSAGES.get(exc.errors(include_url=False)[0]["type"])
    if message is None:
        return error
    field = error.field
    return InvalidInput(f"{field}: {message}" if field else message, field=field)


def builtin_metadata() -> dict[str, Any]:
    """metadata.json of the built-in summarizer: the backend is left to the settings."""
    return {
        "format": 1,
        "kind": "summarizer",
        "title": "Text summarizer",
        "description": "Summaries of papers, reports and notes.",
        "backend": None,
        "model_id": None,
    }


def _version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
