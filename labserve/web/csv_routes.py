"""CSV in, CSV out: the API route and the page's upload form share this code.

The response is streamed chunk by chunk while the upload is read, so memory stays flat; one
audit record per file keeps the checksum of the input and the label counts.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import IO, Any

from flask import Blueprint, Response, request, stream_with_context

from labserve.db import AuditRecord
from labserve.journal import JournalUnavailable
from labserve.models.base import ServedModel
from labserve.models.csv_scoring import CsvScorer, ScoringTally, supports_csv
from labserve.models.errors import InvalidInput
from labserve.web.audit_log import get_audit_log
from labserve.web.auth import caller_name
from labserve.web.errors import ApiError
from labserve.web.extension import get_settings
from labserve.web.limits import scored_rows_budget
from labserve.web.metrics import BATCH_ROWS, PREDICTIONS
from labserve.web.predicting import get_model, requested_version
from labserve.web.request_context import current_request_id

log = logging.getLogger(__name__)

csv_api = Blueprint("csv_api", __name__, url_prefix="/api/v1")

CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}


def uploaded_lines() -> io.TextIOWrapper:
    """Text lines of the CSV: a raw CSV body, or the ``file`` field of a multipart upload
    (a file, or text sent as a plain field as ``curl -F 'file=<cases.csv'`` does)."""
    stream: IO[bytes]
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            # werkzeug closes uploaded files when the request ends, before a streamed response
            # is generated; a temporary file of our own lives as long as the response needs it
            stream = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the streamed response
            shutil.copyfileobj(upload.stream, stream, 1 << 20)
            stream.seek(0)
        elif "file" in request.form:
            stream = io.BytesIO(request.form["file"].encode("utf-8"))
        else:
            raise InvalidInput("choose a CSV file to upload", field="file")
    elif request.mimetype in CSV_TYPES:
        stream = request.stream
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send a CSV body with 'Content-Type: text/csv' or a multipart upload named 'file'",
        )
    # undecodable bytes become U+FFFD and fail their own row, not the whole file
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")


def scored_csv_response(model: ServedModel, lines: io.TextIOWrapper) -> Response:
    """Stream the scored file; ``lines`` is closed when the response is done (or refused).

    The file's audit record is journaled when scoring ends, whatever ends it: the last row, an
    error, or the client going away (then with the rows it was sent). When records cannot be
    kept, the upload is refused before any row is scored.
    """
    name = model.name
    try:
        if not supports_csv(model):
            raise InvalidInput(f"model {name!r} does not score CSV files (it is not tabular)")
        audit_log = get_audit_log()
        if audit_log is not None:
            audit_log.check()
        started = time.perf_counter()
        delivered = [0]
        scorer = CsvScorer(
            model,
            lines,
            safe_cells=get_settings().csv_safe_cells,
            on_chunk=lambda rows: delivered.__setitem__(0, delivered[0] + rows),
            budget=scored_rows_budget,  # the caller's row budget, chunk by chunk
        )
    except Exception:
        lines.close()
        raise
    caller, request_id = caller_name(), current_request_id()

    def generate() -> Iterator[str]:
        end = "complete"
        try:
            yield from scorer.chunks()
        except GeneratorExit:
            end = "client disconnected"
            raise
        except Exception as exc:
            end = f"failed: {type(exc).__name__}"
            raise
        finally:
            lines.close()
            record_csv(model, scorer.tally, delivered[0], end, started, caller, request_id)

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-scored.csv"'},
    )


def record_csv(
    model: ServedModel,
    tally: ScoringTally,
    delivered: int,
    end: str,
    started: float,
    caller: str,
    request_id: str,
) -> None:
    """Count a scored file in the metrics and journal its one audit record."""
    BATCH_ROWS.labels(model.name).observe(tally.rows)
    for label, count in tally.labels.items():
        PREDICTIONS.labels(model.name, label).inc(count)
    audit_log = get_audit_log()
    if audit_log is None:
        return
    record = AuditRecord(
        model=model.name,
        model_version=model.version,
        caller=caller,
        request_id=request_id,
        inputs={"csv_sha256": tally.sha256.hexdigest(), "rows": tally.rows},
        outputs={
            "labels": tally.labels,
            "row_errors": tally.errors,
            "rows_delivered": delivered,
            "end": end,
        },
        latency_ms=(time.perf_counter() - started) * 1000,
        rows=tally.rows,
    )
    try:
        audit_log.record(record)
    except JournalUnavailable as exc:  # the answer is under way: the loss is counted and logged
        log.error("audit record of a scored file lost: %s (%s)", exc.reason, request_id)


@csv_api.post("/models/<name>/predict.csv")
def predict_csv(name: str) -> Any:
    model = get_model(name, requested_version())  # 404 before the upload is spooled
    return scored_csv_response(model, uploaded_lines())
