"""The model page's upload form: score a CSV file once, keep it briefly, summarise it.

The file is scored by ``scored_csv_response``, the very function the CSV API answers with,
so the upload is validated, counted and audited (one record per file) exactly as an API
upload is; its body is written to a kept file (``scored_files``) instead of to the client,
and read on the way into the summary the page shows. The page then links to the kept file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from labserve.models.errors import InvalidInput
from labserve.models.tabular import TabularModel
from labserve.web.batch_summary import BatchSummary, SummaryReader
from labserve.web.csv_routes import scored_csv_response, uploaded_lines
from labserve.web.error_summary import Problem
from labserve.web.extension import get_settings
from labserve.web.scored_files import ScoredFiles, ScoredFileTooLarge

SCORED_FILES_KEY = "labserve.scored_files"
UPLOAD_FIELD = "file"
#: The file input's id on the page (the error summary links to it).
UPLOAD_ELEMENT_ID = "csv-file"
#: Bytes looked at to tell a text file from a spreadsheet or another binary file.
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class BatchOutcome:
    """A scored upload as the page shows it."""

    file_name: str
    summary: BatchSummary
    download_url: str
    download_name: str
    size: int
    keep_minutes: int

    @property
    def size_text(self) -> str:
        return human_size(self.size)


@dataclass(frozen=True)
class UploadView:
    """What the upload section shows: an outcome, or the problems that stopped it."""

    outcome: BatchOutcome | None = None
    problems: list[Problem] = field(default_factory=list)


def scored_files() -> ScoredFiles:
    """The app's folder of kept scored files (made on first use, under the instance path)."""
    extensions = current_app.extensions
    if SCORED_FILES_KEY not in extensions:
        extensions[SCORED_FILES_KEY] = ScoredFiles(get_settings().instance_path / "scored-uploads")
    store: ScoredFiles = extensions[SCORED_FILES_KEY]
    return store


def upload_view(model: TabularModel) -> UploadView:
    """Score the request's upload for ``model``; a problem with the file becomes the view's
    problem (a server fault is still raised)."""
    try:
        return UploadView(outcome=score_upload(model))
    except InvalidInput as exc:
        return UploadView(problems=[Problem(exc.message, f"#{UPLOAD_ELEMENT_ID}")])


def score_upload(model: TabularModel) -> BatchOutcome:
    """Score the uploaded file once into a kept file, and summarise it on the way.

    Raises:
        InvalidInput: no file, not a text file, too large, or a file the scorer refuses
            (missing columns, empty, unreadable); the message says which.
    """
    file_name = check_upload()
    response = scored_csv_response(model, uploaded_lines())
    reader = SummaryReader()
    store = scored_files()
    try:
        with store.writer() as writer:
            for piece in response.response:
                chunk = piece.decode("utf-8") if isinstance(piece, bytes) else str(piece)
                writer.write(chunk)
                reader.feed(chunk)
            kept = writer.keep()
    except ScoredFileTooLarge as exc:
        message = f"{exc}: split the file and upload the parts"
        raise InvalidInput(message, field=UPLOAD_FIELD) from None
    finally:
        response.close()  # ends the scoring generator (and its input) if it stopped early
    name = download_name(file_name, model.name)
    return BatchOutcome(
        file_name=file_name,
        summary=reader.summary,
        download_url=url_for(
            "ui.scored_file", name=model.name, token=kept.token, download_name=name
        ),
        download_name=name,
        size=kept.size,
        keep_minutes=round(store.keep_seconds / 60),
    )


def check_upload() -> str:
    """The uploaded file's name, once the upload is known to be a text file within limits.

    Raises:
        InvalidInput: nothing chosen, too large, or binary (a spreadsheet, a UTF-16 text).
    """
    try:
        upload = request.files.get(UPLOAD_FIELD)
    except RequestEntityTooLarge:
        limit = get_settings().max_content_length / (1 << 20)
        raise InvalidInput(
            f"the file is larger than the upload limit of {limit:g} MiB: split it and upload "
            "the parts",
            field=UPLOAD_FIELD,
        ) from None
    if upload is None or not upload.filename:
        raise InvalidInput("choose a CSV file to upload", field=UPLOAD_FIELD)
    head = upload.stream.read(SNIFF_BYTES)
    upload.stream.seek(0)
    if b"\0" in head:
        raise InvalidInput(
            f"{upload.filename} is not a CSV file (it holds binary data, as a spreadsheet or a "
            "UTF-16 text does): save it as 'CSV UTF-8 (comma delimited)' and upload that",
            field=UPLOAD_FIELD,
        )
    return upload.filename.replace("\\", "/").rsplit("/", 1)[-1]


def download_name(file_name: str, model_name: str) -> str:
    """``cases.csv`` scored by ``wine`` downloads as ``cases-wine-scored.csv``: the user can
    tell the scored file from the one they uploaded, and which model scored it."""
    stem = file_name[:-4] if file_name.lower().endswith(".csv") else file_name
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip(".-")
    return f"{stem or 'upload'}-{model_name}-scored.csv"


def human_size(size: int) -> str:
    """``18.2 kB`` and the like, beside the download link."""
    if size < 1000:
        return f"{size} bytes"
    value = size / 1000
    for unit in ("kB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
