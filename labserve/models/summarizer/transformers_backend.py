"""Abstractive summaries from a Hugging Face sequence-to-sequence model (BART, T5, Pegasus...).

transformers 5 removed ``pipeline("summarization")``, so this module does what that pipeline
did with calls that exist in both 4.x and 5.x: ``AutoTokenizer`` + ``AutoModelForSeq2SeqLM``
and ``generate()``. It adds what the pipeline lacked for papers: inputs longer than the
model's window are split on sentence boundaries, each chunk is summarised, and the joined
chunk summaries are summarised again until they fit the requested length.

torch and transformers are imported only inside functions, so importing this module is cheap
and works on the base install; ``load()`` says how to install the extra when they are missing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from labserve.models.errors import BackendUnavailable
from labserve.models.summarizer.sentences import split_sentences

INSTALL_HINT = (
    "the transformers backend needs the optional extra: pip install 'labserve[transformers]'"
)
#: Environment variable with the number of torch threads per worker process.
THREADS_ENV = "LABSERVE_TORCH_THREADS"
#: One thread per worker by default: gunicorn-style workers would otherwise each grab every
#: core and slow each other down.
DEFAULT_THREADS = 1
#: Window used when neither the tokenizer nor the config states a usable input length.
DEFAULT_MAX_INPUT_TOKENS = 512
#: Anything above this is a "no limit" sentinel (tokenizers use int(1e30)), not a real window.
_SANE_LENGTH_LIMIT = 1_000_000
#: Chunks per ``generate()`` call: bounds peak memory of a padded batch on CPU.
BATCH_SIZE = 8
#: Rounds of summarising at most; the last round truncates its input, so a summary of chunk
#: summaries that never shrinks still ends.
MAX_ROUNDS = 4
#: Generation options a model's ``task_specific_params["summarization"]`` may set, as the old
#: pipeline honoured them; sampling options are left out on purpose (results stay deterministic).
_TASK_GENERATION_KEYS = frozenset(
    {"num_beams", "length_penalty", "no_repeat_ngram_size", "early_stopping"}
    | {"repetition_penalty", "encoder_no_repeat_ngram_size"}
)
_TRUE_VALUES = frozenset({"1", "ON", "YES", "TRUE"})
_VERSIONED_PACKAGES = ("transformers", "torch", "tokenizers", "sentencepiece", "huggingface_hub")


def resolve_max_input_tokens(model_max_length: object, max_position_embeddings: object) -> int:
    """The model's real input window, in tokens.

    The tokenizer's ``model_max_length`` is the intended limit but is often a huge sentinel
    when unset; the config's ``max_position_embeddings`` is a hard limit for models with
    learned positions. The smaller sane value wins.

    Args:
        model_max_length: ``tokenizer.model_max_length``.
        max_position_embeddings: ``model.config.max_position_embeddings`` (None if absent).

    Returns:
        The window, or ``DEFAULT_MAX_INPUT_TOKENS`` when neither value is usable.
    """
    sane = [
        value
        for value in (model_max_length, max_position_embeddings)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < _SANE_LENGTH_LIMIT
    ]
    return min(sane) if sane else DEFAULT_MAX_INPUT_TOKENS


def clamp_generation_lengths(maxlen: int, minlen: int, window: int) -> tuple[int, int]:
    """Generation ``max_length`` and ``min_length`` that the model can honour.

    ``maxlen`` is capped at the model window: a longer summary could not be fed back to the
    model when chunk summaries are summarised again, and models with learned positions cannot
    decode past it anyway. ``minlen`` is capped at the capped ``maxlen``, since generate() cannot
    satisfy a minimum above its maximum. Both count model tokens, as ``generate()`` does.

    Raises:
        ValueError: if ``maxlen`` < 1 or ``minlen`` < 0 (the caller validates user input).
    """
    if maxlen < 1:
        raise ValueError(f"maxlen must be at least 1, got {maxlen}")
    if minlen < 0:
        raise ValueError(f"minlen must not be negative, got {minlen}")
    max_length = min(maxlen, window)
    return max_length, min(minlen, max_length)


def _longest_fitting_run(
    units: Sequence[str], start: int, joiner: str, fits: Callable[[str], bool]
) -> int:
    """How many units from ``start`` on fit once joined (0 if the first alone does not).

    Galloping then bisecting keeps tokenizer calls logarithmic in the run length, and each
    call sees at most about twice the text that ends up in the run. Only verified runs are
    returned, so a tokenizer whose counts are not monotonic can cost a shorter run, never an
    oversized one.
    """
    available = len(units) - start
    if available <= 0 or not fits(units[start]):
        return 0
    good, step = 1, 1
    while good < available:
        trial = min(good + step, available)
        if not fits(joiner.join(units[start : start + trial])):
            bad = trial
            break
        good, step = trial, step * 2
    else:
        return good
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(joiner.join(units[start : start + middle])):
            good = middle
        else:
            bad = middle
    return good


def split_to_fit(text: str, count_tokens: Callable[[str], int], limit: int) -> list[str]:
    """Split one over-long piece of text into pieces of at most ``limit`` tokens each.

    Words are kept whole where possible; a single word longer than the window (a sequence, a
    URL) is cut between characters. If not even one character fits (a window smaller than the
    special tokens), pieces of one character are returned so the caller still makes progress.
    """

    def fits(candidate: str) -> bool:
        return count_tokens(candidate) <= limit

    words = text.split()
    pieces: list[str] = []
    index = 0
    while index < len(words):
        taken = _longest_fitting_run(words, index, " ", fits)
        if taken:
            pieces.append(" ".join(words[index : index + taken]))
            index += taken
            continue
        characters = list(words[index])
        position = 0
        while position < len(characters):
            size = max(1, _longest_fitting_run(characters, position, "", fits))
            pieces.append("".join(characters[position : position + size]))
            position += size
        index += 1
    return pieces


def chunk_by_tokens(
    sentences: Sequence[str], count_tokens: Callable[[str], int], limit: int
) -> list[str]:
    """Pack consecutive sentences into as few chunks as possible of at most ``limit`` tokens.

    Sentence order is kept and sentences are joined with one space. A sentence longer than
    the window on its own is cut by ``split_to_fit``. Blank sentences are dropped.

    Args:
        sentences: The text's sentences, in order.
        count_tokens: Token count of a string as the model will see it (special tokens and any
            task prefix included), so that every chunk fits the model as is.
        limit: The model's input window in tokens.

    Returns:
        The chunks; each has ``count_tokens(chunk) <= limit`` unless the window cannot hold
        even one character.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 token, got {limit}")

    def fits(candidate: str) -> bool:
        return count_tokens(candidate) <= limit

    units = [sentence.strip() for sentence in sentences if sentence.strip()]
    chunks: list[str] = []
    index = 0
    while index < len(units):
        taken = _longest_fitting_run(units, index, " ", fits)
        if taken:
            chunks.append(" ".join(units[index : index + taken]))
            index += taken
        else:
            chunks.extend(split_to_fit(units[index], count_tokens, limit))
            index += 1
    return chunks


def _is_offline() -> bool:
    return any(
        os.environ.get(name, "").strip().upper() in _TRUE_VALUES
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _looks_like_path(model_id: str) -> bool:
    """True for ids that can only be a directory (hub ids are ``name`` or ``owner/name``)."""
    return (
        Path(model_id).is_absolute()
        or model_id.startswith((".", "~"))
        or model_id.count("/") > 1
        or "\\" in model_id
    )


def _missing_from_hub(exc: BaseException) -> bool:
    """True when the hub answered that the repository does not exist (or is gated/private)."""
    current: BaseException | None = exc
    while current is not None:
        if type(current).__name__ in {"RepositoryNotFoundError", "GatedRepoError"}:
            return True
        current = current.__cause__ or current.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _torch_threads() -> int:
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        threads = int(raw)
    except ValueError:
        threads = 0
    if threads < 1:
        raise BackendUnavailable(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    return threads


def _from_pretrained(transformers: Any, model_id: str) -> tuple[Any, Any, Path | None]:
    """Tokenizer, model and local directory (None for a hub id), or a message for people.

    A directory is read as is. A hub id is read from the local cache first: a cached model
    then starts without the network, and the hub client's retries (tens of seconds with no
    network) are paid only for a model that is not cached. ``HF_HUB_OFFLINE`` stops there.
    """
    not_found = (
        f"model {model_id} not found locally and no network; "
        "set LABSERVE_SUMMARIZER_MODEL to a local directory"
    )
    path = Path(model_id).expanduser()
    local = path.is_dir()
    if not local and _looks_like_path(model_id):
        raise BackendUnavailable(not_found)
    if local and not (path / "config.json").is_file():
        raise BackendUnavailable(f"{path} holds no config.json: not a saved transformers model")
    source = str(path) if local else model_id

    def read(local_files_only: bool) -> tuple[Any, Any]:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            source, local_files_only=local_files_only
        )
        model = transformers.AutoModelForSeq2SeqLM.from_pretrained(
            source, local_files_only=local_files_only
        )
        return tokenizer, model

    try:
        try:
            tokenizer, model = read(local_files_only=True)
        except OSError:
            if local or _is_offline():
                raise
            tokenizer, model = read(local_files_only=False)
    except (OSError, ValueError) as exc:
        # transformers reports missing files and unreachable hubs as OSError, and files it
        # cannot use (a config that is no seq2seq model, a broken tokenizer) as ValueError.
        if local or isinstance(exc, ValueError):
            raise BackendUnavailable(
                f"cannot load {source} as a summarisation model: {_first_line(exc)}"
            ) from exc
        if _missing_from_hub(exc):
            raise BackendUnavailable(
                f"model {model_id} is not on the Hugging Face hub (or needs a login); "
                "set LABSERVE_SUMMARIZER_MODEL to a local directory"
            ) from exc
        raise BackendUnavailable(not_found) from exc
    return tokenizer, model, path.resolve() if local else None


class TransformersSummarizer:
    """A seq2seq summariser on CPU: load once, then summarise batches of texts.

    Calls are serialised by a (re-entrant) lock: a fast tokenizer shared between threads fails
    with "Already borrowed", and with one torch thread per worker nothing is lost by it.
    """

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.max_input_tokens = DEFAULT_MAX_INPUT_TOKENS
        self._tokenizer: Any = None
        self._model: Any = None
        self._local_path: Path | None = None
        self._prefix = ""
        self._generation_options: dict[str, Any] = {}
        self._threads = DEFAULT_THREADS
        self._lock = threading.RLock()

    # -- loading ------------------------------------------------------------------------------
    def load(self) -> None:
        """Load tokenizer and model on CPU in eval mode.

        Raises:
            BackendUnavailable: torch/transformers are missing, or the model cannot be found
                or loaded; the message says what to do.
        """
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise BackendUnavailable(INSTALL_HINT) from exc

        self._threads = _torch_threads()
        # Deliberate: torch's default of one thread per core oversubscribes the CPU as soon
        # as several workers run side by side.
        torch.set_num_threads(self._threads)

        tokenizer, model, local_path = _from_pretrained(transformers, self.model_id)
        # float32 on purpose: transformers 5 loads the checkpoint's dtype ("auto"), and
        # half precision is slow or unsupported for generation on many CPUs.
        model = model.to(device="cpu", dtype=torch.float32)
        model.eval()
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        task = (getattr(model.config, "task_specific_params", None) or {}).get("summarization", {})
        self._prefix = str(task.get("prefix") or "")
        self._generation_options = {k: v for k, v in task.items() if k in _TASK_GENERATION_KEYS}
        self.max_input_tokens = resolve_max_input_tokens(
            tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None)
        )
        self._tokenizer = tokenizer
        self._model = model
        self._local_path = local_path

    # -- token counting and chunking ----------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in model tokens, special tokens included (how summaries count)."""
        self._require_loaded()
        with self._lock:
            ids = self._tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"]
        return len(ids)

    def _count_input_tokens(self, text: str) -> int:
        return self.count_tokens(self._prefix + text)

    def chunk_text(self, text: str) -> list[str]:
        """The pieces ``text`` is summarised in: itself if it fits the window, else chunks."""
        if self._count_input_tokens(text) <= self.max_input_tokens:
            return [text]
        return chunk_by_tokens(
            split_sentences(text), self._count_input_tokens, self.max_input_tokens
        )

    def _fit(self, text: str, limit: int) -> str:
        """``text`` cut at a word boundary to ``limit`` tokens (generate's count can be one off)."""
        if self.count_tokens(text) <= limit:
            return text
        first = split_to_fit(text, self.count_tokens, limit)[0]
        return first if self.count_tokens(first) <= limit else ""

    # -- summarising --------------------------------------------------------------------------
    def summarize_batch(self, texts: list[str], maxlen: int, minlen: int) -> list[str]:
        """Summarise several texts, one summary per text, in order.

        Args:
            texts: The texts; a blank text gets an empty summary without running the model.
            maxlen: Longest summary in model tokens (``max_length`` of generation); capped at
                the model window.
            minlen: Shortest summary in model tokens (``min_length`` of generation); capped at
                ``maxlen`` and, per chunk, at the chunk's own length, since a summary longer
                than its source can only be padded with invention.

        Returns:
            The summaries; each is at most ``min(maxlen, max_input_tokens)`` model tokens long.
        """
        self._require_loaded()
        max_length, min_length = clamp_generation_lengths(maxlen, minlen, self.max_input_tokens)
        with self._lock:
            results = [""] * len(texts)
            pending = {index: text.strip() for index, text in enumerate(texts) if text.strip()}
            for round_number in range(MAX_ROUNDS):
                if not pending:
                    break
                last = round_number == MAX_ROUNDS - 1
                # The last round feeds each text whole; the tokenizer truncates it to the window.
                pieces = [
                    (index, chunk)
                    for index, text in pending.items()
                    for chunk in ([text] if last else self.chunk_text(text))
                ]
                summaries = self._generate([chunk for _, chunk in pieces], max_length, min_length)
                parts: dict[int, list[str]] = {}
                for (index, _), summary in zip(pieces, summaries, strict=True):
                    parts.setdefault(index, []).append(summary)
                pending = {}
                for index, summaries_of_text in parts.items():
                    joined = " ".join(part for part in summaries_of_text if part)
                    if len(summaries_of_text) == 1 or self.count_tokens(joined) <= max_length:
                        results[index] = self._fit(joined, max_length)
                    else:
                        pending[index] = joined
            return results

    def _generate(self, chunks: list[str], max_length: int, min_length: int) -> list[str]:
        """One summary per chunk, in sub-batches of chunks with the same ``min_length``."""
        import torch

        lengths = [self._count_input_tokens(chunk) for chunk in chunks]
        # generate() takes one min_length per batch, so chunks are grouped by their own cap.
        groups: dict[int, list[int]] = {}
        for index, length in enumerate(lengths):
            groups.setdefault(min(min_length, length), []).append(index)
        summaries = [""] * len(chunks)
        for group_min, members in sorted(groups.items()):
            members.sort(key=lambda index: lengths[index], reverse=True)  # less padding
            for start in range(0, len(members), BATCH_SIZE):
                batch = members[start : start + BATCH_SIZE]
                encoded = self._tokenizer(
                    [self._prefix + chunks[index] for index in batch],
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=self.max_input_tokens,
                )
                with torch.inference_mode():
                    output = self._model.generate(
                        **encoded,
                        **self._generation_options,
                        max_length=max_length,
                        min_length=group_min,
                        # A model's generation_config may set these, and they would win.
                        max_new_tokens=None,
                        min_new_tokens=None,
                        do_sample=False,
                    )
                decoded = self._tokenizer.batch_decode(
                    output, skip_special_tokens=True, clean_up_tokenization_spaces=True
                )
                for index, text in zip(batch, decoded, strict=True):
                    summaries[index] = text.strip()
        return summaries

    # -- description --------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Facts for the model card: what was loaded from where, its window, size and versions."""
        info: dict[str, Any] = {
            "backend": "transformers",
            "model_id": self.model_id,
            "loaded": self._model is not None,
        }
        if self._model is None:
            return info
        info.update(
            {
                "source": "local" if self._local_path is not None else "hub",
                "local_path": str(self._local_path) if self._local_path is not None else None,
                "hub_id": None if self._local_path is not None else self.model_id,
                "revision": getattr(self._model.config, "_commit_hash", None),
                "model_type": getattr(self._model.config, "model_type", None),
                "max_input_tokens": self.max_input_tokens,
                "parameters": int(sum(p.numel() for p in self._model.parameters())),
                "torch_threads": self._threads,
                "task_prefix": self._prefix,
                "generation": {**self._generation_options, "do_sample": False},
                "versions": _library_versions(),
            }
        )
        return info

    def _require_loaded(self) -> None:
        if self._model is None:
            raise RuntimeError(f"{type(self).__name__}({self.model_id!r}): call load() first")


def _library_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions
