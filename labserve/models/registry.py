"""The models one labserve process serves, kept in step with the model store.

Each process (each server worker, a CLI run) holds the promoted version of every model,
loaded once, plus a few other versions that requests pinned with ``?version=N``. A watcher
thread polls the store (a directory listing and one tiny file per model) every
``model_poll_seconds``: when a version is added or promoted it is loaded beside the old one
and then swapped in with a single assignment. A request already running keeps the object it
started with, so a switch never fails a request in flight; a version that fails to load is
reported and the previous one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator

from labserve.models.base import ModelSource, ServedModel
from labserve.models.errors import LabserveError, ModelNotFound
from labserve.models.kinds import kind_class
from labserve.models.store import ModelStore
from labserve.settings import Settings

log = logging.getLogger(__name__)


def build_model(store: ModelStore, settings: Settings, name: str, version: str) -> ServedModel:
    """An unloaded instance of the kind that serves one stored version."""
    info = store.info(name, version)
    cls = kind_class(info.kind)
    return cls(
        ModelSource(
            name=name,
            version=info.version,
            path=info.path,
            metadata=info.metadata,
            settings=settings,
            registration=info.registration,
        )
    )


def load_model(
    store: ModelStore, settings: Settings, name: str, version: str | None = None
) -> ServedModel:
    """Build and load one version (the promoted one by default): for one-off CLI work."""
    chosen = version or store.promoted(name)
    if chosen is None:
        raise ModelNotFound(name)
    model = build_model(store, settings, name, chosen)
    model.load()
    return model


class ModelRegistry:
    """Promoted versions by name, pinned versions on demand, all following the store."""

    def __init__(self, store: ModelStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._served: dict[str, ServedModel] = {}
        self._failed: dict[str, tuple[str, str]] = {}  # name -> (version, reason)
        self._pinned: OrderedDict[tuple[str, str], ServedModel] = OrderedDict()
        self._pin_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- reading ------------------------------------------------------------------------------
    def get(self, name: str, version: str | None = None) -> ServedModel:
        """The promoted version of ``name``, or the stored ``version`` if one is pinned."""
        served = self._served.get(name)
        if version is None or (served is not None and served.version == version):
            if served is None:
                raise ModelNotFound(name)
            return served
        return self._pinned_version(name, version)

    def __iter__(self) -> Iterator[ServedModel]:
        served = self._served
        return iter([served[name] for name in sorted(served)])

    def __contains__(self, name: object) -> bool:
        return name in self._served

    def names(self) -> list[str]:
        return sorted(self._served)

    def all_ready(self) -> bool:
        return all(model.ready for model in self._served.values())

    def statuses(self) -> dict[str, str]:
        out = {}
        for name, model in sorted(self._served.items()):
            out[name] = model.status
            failed = self._failed.get(name)
            if failed is not None and model.ready:
                out[name] = f"ready (version {failed[0]} failed to load: {failed[1]})"
        return out

    # -- loading ------------------------------------------------------------------------------
    def sync(self, *, load: bool = True) -> list[str]:
        """Bring the served set in line with the store; return the names that changed.

        New and newly promoted versions are loaded first (when ``load``) and swapped in
        afterwards; models removed from the store stop being served.
        """
        with self._sync_lock:
            wanted = self.store.snapshot()
            current = self._served
            changed: list[str] = []
            updated = {name: model for name, model in current.items() if name in wanted}
            for name, version in sorted(wanted.items()):
                model = current.get(name)
                if model is not None and model.version == version:
                    continue
                if self._failed.get(name, ("", ""))[0] == version:
                    continue  # already tried; try again only once something changes
                replacement = self._prepare(name, version, load=load)
                if replacement is None:
                    continue
                updated[name] = replacement
                changed.append(name)
            changed += [name for name in current if name not in wanted]
            self._served = updated  # one assignment: readers see the old or the new dict
            self._forget_missing_pins()
            return changed

    def _prepare(self, name: str, version: str, *, load: bool) -> ServedModel | None:
        try:
            model = build_model(self.store, self.settings, name, version)
        except LabserveError as exc:
            self._failed[name] = (version, str(exc))
            log.error("model %s version %s cannot be served: %s", name, version, exc)
            return None
        if not load:
            return model
        try:
            model.load()
        except Exception as exc:
            self._failed[name] = (version, str(exc) or type(exc).__name__)
            log.error("model %s version %s failed to load: %s", name, version, exc)
            previous = self._served.get(name)
            return None if previous is not None and previous.ready else model
        self._failed.pop(name, None)
        log.info("model %s version %s loaded in %.2fs", name, version, model.load_seconds)
        return model

    def load_all(self) -> None:
        """Serve every promoted model, loaded now (in the calling thread)."""
        self.sync()

    def load_in_background(self) -> threading.Thread:
        """Register every model at once (``loading``), load them in a daemon thread."""
        self.sync(load=False)
        thread = threading.Thread(target=self._load_pending, name="labserve-loader", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def _load_pending(self) -> None:
        for model in list(self._served.values()):
            try:
                model.load()
                log.info("model %s version %s loaded", model.name, model.version)
            except Exception as exc:
                log.error("model %s version %s failed to load: %s", model.name, model.version, exc)

    def wait_until_loaded(self, timeout: float | None = None) -> bool:
        for thread in self._threads:
            if thread.name == "labserve-loader":
                thread.join(timeout)
        return self.all_ready()

    def watch(self, interval: float) -> threading.Thread | None:
        """Poll the store every ``interval`` seconds in a daemon thread (0: never)."""
        if interval <= 0:
            return None

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.sync()
                except Exception:  # never let a bad store entry stop the watching
                    log.exception("model store poll failed")

        thread = threading.Thread(target=run, name="labserve-model-watcher", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def close(self) -> None:
        self._stop.set()

    # -- pinned versions ----------------------------------------------------------------------
    def _pinned_version(self, name: str, version: str) -> ServedModel:
        if not version.isdigit():
            raise ModelNotFound(name, version)
        key = (name, str(int(version)))
        with self._pin_lock:
            model = self._pinned.get(key)
            if model is not None:
                self._pinned.move_to_end(key)
                return model
            model = build_model(self.store, self.settings, *key)
            model.load()
            if self.settings.max_pinned_versions > 0:
                self._pinned[key] = model
                while len(self._pinned) > self.settings.max_pinned_versions:
                    self._pinned.popitem(last=False)
            return model

    def _forget_missing_pins(self) -> None:
        with self._pin_lock:
            for key in [k for k in self._pinned if k[1] not in self.store.versions(k[0])]:
                del self._pinned[key]
