"""The journal is a library of its own: no Flask, so the CLI and the shipper stay light."""

from __future__ import annotations

from tests.models.test_layering import imported_after


def test_importing_the_journal_does_not_import_flask() -> None:
    modules = imported_after("import labserve.journal, labserve.journal.shipper")
    assert "labserve.journal.writer" in modules
    assert not {m for m in modules if m == "flask" or m.startswith(("flask.", "werkzeug"))}
