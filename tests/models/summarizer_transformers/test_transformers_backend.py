"""The transformers summariser: pure chunking, then the real loading and generate() path."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from labserve.models.errors import BackendUnavailable
from labserve.models.summarizer.transformers_backend import (
    DEFAULT_MAX_INPUT_TOKENS,
    INSTALL_HINT,
    TransformersSummarizer,
    chunk_by_tokens,
    clamp_generation_lengths,
    resolve_max_input_tokens,
    split_to_fit,
)
from tests.models.summarizer_transformers.conftest import (
    CORPUS,
    WINDOW,
    GenerateCalls,
    build_tokenizer,
    long_text,
    require_backend,
)

Spy = Callable[..., GenerateCalls]


def words_plus_two(text: str) -> int:
    """A stand-in tokenizer: one token per word plus bos and eos."""
    return len(text.split()) + 2


def chars_plus_two(text: str) -> int:
    return len(text) + 2


# -- pure functions (no torch needed) ---------------------------------------------------------
def test_chunks_keep_order_and_fit_the_limit() -> None:
    sentences = [f"Sentence {index} has exactly six words." for index in range(20)]

    chunks = chunk_by_tokens(sentences, words_plus_two, limit=20)

    assert len(chunks) == 7  # three six-word sentences (18 + 2 tokens) per chunk
    assert all(words_plus_two(chunk) <= 20 for chunk in chunks)
    assert " ".join(chunks).split() == " ".join(sentences).split()


def test_a_text_that_fits_is_one_chunk() -> None:
    assert chunk_by_tokens(["One short.", "Two short."], words_plus_two, 50) == [
        "One short. Two short."
    ]


def test_a_sentence_longer_than_the_window_is_split_by_words() -> None:
    long_sentence = " ".join(f"w{index}" for index in range(25))

    chunks = chunk_by_tokens(["Before.", long_sentence, "After."], words_plus_two, limit=10)

    assert chunks[0] == "Before."
    assert chunks[-1] == "After."
    assert [len(chunk.split()) for chunk in chunks[1:-1]] == [8, 8, 8, 1]
    assert " ".join(chunks).split() == ["Before.", *long_sentence.split(), "After."]


def test_a_word_longer_than_the_window_is_split_by_characters() -> None:
    sequence = "ACGT" * 10  # 40 characters, no space: a DNA sequence in a methods section

    pieces = split_to_fit(sequence, chars_plus_two, limit=12)

    assert all(chars_plus_two(piece) <= 12 for piece in pieces)
    assert "".join(pieces) == sequence
    assert len(pieces) == 4


def test_a_window_too_small_for_one_character_still_progresses() -> None:
    assert split_to_fit("abc", chars_plus_two, limit=2) == ["a", "b", "c"]


@pytest.mark.parametrize("sentences", [[], ["", "   "]])
def test_no_sentences_no_chunks(sentences: list[str]) -> None:
    assert chunk_by_tokens(sentences, words_plus_two, 10) == []


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        chunk_by_tokens(["a"], words_plus_two, 0)


def test_chunking_counts_tokens_logarithmically() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return words_plus_two(text)

    chunk_by_tokens([f"s{index}." for index in range(1000)], counting, limit=1002)

    assert len(calls) < 40  # galloping + bisection, not one call per sentence


@pytest.mark.parametrize(
    ("model_max_length", "max_position_embeddings", "expected"),
    [
        (1024, 1024, 1024),
        (512, 1024, 512),
        (int(1e30), 1024, 1024),  # tokenizer sentinel for "unset"
        (int(1e30), None, DEFAULT_MAX_INPUT_TOKENS),
        (None, 0, DEFAULT_MAX_INPUT_TOKENS),
        (64, True, 64),  # a bool is not a length
    ],
)
def test_max_input_tokens(
    model_max_length: object, max_position_embeddings: object, expected: int
) -> None:
    assert resolve_max_input_tokens(model_max_length, max_position_embeddings) == expected


@pytest.mark.parametrize(
    ("maxlen", "minlen", "expected"),
    [(50, 10, (50, 10)), (50, 80, (50, 50)), (5000, 30, (64, 30)), (5000, 900, (64, 64))],
)
def test_generation_lengths_are_clamped(
    maxlen: int, minlen: int, expected: tuple[int, int]
) -> None:
    assert clamp_generation_lengths(maxlen, minlen, window=64) == expected


@pytest.mark.parametrize(("maxlen", "minlen"), [(0, 0), (10, -1)])
def test_impossible_generation_lengths_are_rejected(maxlen: int, minlen: int) -> None:
    with pytest.raises(ValueError, match="len"):
        clamp_generation_lengths(maxlen, minlen, window=64)


def test_missing_torch_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail

    with pytest.raises(BackendUnavailable) as caught:
        TransformersSummarizer("facebook/bart-large-cnn").load()

    assert str(caught.value) == INSTALL_HINT


BLOCK_HEAVY_IMPORTS = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers"}:
            raise ImportError(f"{name} is blocked")
        return None

sys.meta_path.insert(0, Block())
"""


def test_importing_the_backend_needs_neither_torch_nor_transformers() -> None:
    code = (
        BLOCK_HEAVY_IMPORTS
        + "import labserve.models.summarizer.transformers_backend\n"
        + "print(sorted(m for m in sys.modules if m.startswith(('torch', 'transformers'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)

    assert out.stdout.strip() == "[]"


def test_summarising_before_load_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="call load"):
        TransformersSummarizer("some/model").summarize_batch(["text"], 20, 5)


# -- the real model path ----------------------------------------------------------------------
def test_load_describes_the_local_model(
    summarizer: TransformersSummarizer, tiny_model_dir: Path
) -> None:
    card = summarizer.describe()

    assert card["model_id"] == str(tiny_model_dir)
    assert card["source"] == "local"
    assert card["local_path"] == str(tiny_model_dir.resolve())
    assert card["hub_id"] is None
    assert card["max_input_tokens"] == WINDOW
    assert card["parameters"] == sum(p.numel() for p in summarizer._model.parameters()) > 0
    assert card["torch_threads"] == 1
    assert {"torch", "transformers", "tokenizers"} <= set(card["versions"])
    assert not summarizer._model.training


def test_a_long_text_is_chunked_summarised_and_fits(
    summarizer: TransformersSummarizer, spy_generate: Spy
) -> None:
    text = long_text()
    calls = spy_generate(summarizer)

    chunks = summarizer.chunk_text(text)
    [summary] = summarizer.summarize_batch([text], maxlen=20, minlen=5)

    assert summarizer.count_tokens(text) > 5 * WINDOW
    assert len(chunks) > 1
    assert all(summarizer.count_tokens(chunk) <= WINDOW for chunk in chunks)
    assert calls[0]["rows"] == min(len(chunks), 8)
    assert sum(call["rows"] for call in calls) >= len(chunks)
    assert summary
    assert summarizer.count_tokens(summary) <= 20


def test_chunk_summaries_that_stay_too_long_are_summarised_again(
    summarizer: TransformersSummarizer, spy_generate: Spy
) -> None:
    text = long_text()
    calls = spy_generate(summarizer, echo=True)  # echoing never shortens by much

    [summary] = summarizer.summarize_batch([text], maxlen=30, minlen=0)

    assert sum(call["rows"] for call in calls) > len(summarizer.chunk_text(text))
    assert summarizer.count_tokens(summary) <= 30
    assert summary.startswith(CORPUS[0].rstrip(".").split(" after")[0])


def test_several_texts_are_one_batched_generate_call_in_order(
    summarizer: TransformersSummarizer, spy_generate: Spy
) -> None:
    texts = [CORPUS[1], CORPUS[0] + " " + CORPUS[2], CORPUS[3]]
    calls = spy_generate(summarizer, echo=True)

    summaries = summarizer.summarize_batch(texts, maxlen=WINDOW, minlen=2)

    assert [call["rows"] for call in calls] == [3]
    assert len(summaries) == len(texts)
    for text, summary in zip(texts, summaries, strict=True):
        assert summary.split()[:3] == text.split()[:3]


def test_batched_summaries_match_one_by_one(summarizer: TransformersSummarizer) -> None:
    texts = [CORPUS[0], CORPUS[4] + " " + CORPUS[5], long_text(12)]

    together = summarizer.summarize_batch(texts, maxlen=16, minlen=4)
    alone = [summarizer.summarize_batch([text], maxlen=16, minlen=4)[0] for text in texts]

    assert together == alone


@pytest.mark.parametrize("maxlen", [4, 9, 17, 40, 500])
@pytest.mark.parametrize("text", [CORPUS[2], long_text(20)], ids=["short", "long"])
def test_summaries_never_exceed_maxlen_tokens(
    summarizer: TransformersSummarizer, text: str, maxlen: int
) -> None:
    [summary] = summarizer.summarize_batch([text], maxlen=maxlen, minlen=maxlen)

    assert summarizer.count_tokens(summary) <= min(maxlen, WINDOW)


def test_minlen_is_capped_by_the_chunk_length(
    summarizer: TransformersSummarizer, spy_generate: Spy
) -> None:
    calls = spy_generate(summarizer)
    short, longer = "Alpha beta.", CORPUS[2]

    summarizer.summarize_batch([short, longer], maxlen=30, minlen=12)

    assert sorted((call["min_length"], call["rows"]) for call in calls) == [(5, 1), (12, 1)]
    assert {call["max_length"] for call in calls} == {30}
    assert {call["do_sample"] for call in calls} == {False}


def test_lengths_win_over_the_model_generation_config(
    summarizer: TransformersSummarizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hub models often ship generation_config.json with max_new_tokens, which beats max_length.
    monkeypatch.setattr(summarizer._model.generation_config, "max_new_tokens", 3)

    [summary] = summarizer.summarize_batch([CORPUS[2]], maxlen=20, minlen=15)

    assert 12 <= summarizer.count_tokens(summary) <= 20


def test_summaries_are_deterministic(
    summarizer: TransformersSummarizer, tiny_model_dir: Path
) -> None:
    texts = [CORPUS[3], long_text(15)]
    again = TransformersSummarizer(str(tiny_model_dir))
    again.load()

    first = summarizer.summarize_batch(texts, maxlen=25, minlen=5)

    assert summarizer.summarize_batch(texts, maxlen=25, minlen=5) == first
    assert again.summarize_batch(texts, maxlen=25, minlen=5) == first


def test_blank_texts_get_empty_summaries(
    summarizer: TransformersSummarizer, spy_generate: Spy
) -> None:
    calls = spy_generate(summarizer)

    assert summarizer.summarize_batch(["", "  \n"], maxlen=20, minlen=5) == ["", ""]
    assert calls == []


def test_task_prefix_and_beam_options_are_used_but_never_sampling(
    tiny_t5_style_dir: Path, spy_generate: Spy
) -> None:
    backend = TransformersSummarizer(str(tiny_t5_style_dir))
    backend.load()
    calls = spy_generate(backend, echo=True)

    backend.summarize_batch([CORPUS[0]], maxlen=WINDOW, minlen=0)

    assert backend.describe()["task_prefix"] == "summarize: "
    assert calls[0]["num_beams"] == 2
    assert calls[0]["do_sample"] is False
    # "summarize" and ":" are two (unknown) tokens of the tiny vocabulary, in front of the text.
    fed = calls[0]["input_ids"][0].tolist()
    assert len(fed) == backend.count_tokens(CORPUS[0]) + 2
    assert fed[1:3] == [backend._tokenizer.unk_token_id] * 2


def test_torch_threads_come_from_the_environment(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setenv("LABSERVE_TORCH_THREADS", "2")
    backend = TransformersSummarizer(str(tiny_model_dir))
    backend.load()

    assert torch.get_num_threads() == 2
    assert backend.describe()["torch_threads"] == 2


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_bad_thread_setting_is_a_clear_error(
    value: str, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    monkeypatch.setenv("LABSERVE_TORCH_THREADS", value)

    with pytest.raises(BackendUnavailable, match="LABSERVE_TORCH_THREADS must be a positive"):
        TransformersSummarizer(str(tiny_model_dir)).load()


# -- loading errors: a message for people, never a traceback ----------------------------------
def not_found(model_id: str) -> str:
    return (
        f"model {model_id} not found locally and no network; "
        "set LABSERVE_SUMMARIZER_MODEL to a local directory"
    )


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    "model_id",
    ["/nonexistent/labserve/model", "./no-such-dir/model/x", "labserve-tests/no-such-model"],
)
def test_a_model_that_is_nowhere_is_a_clear_error(model_id: str) -> None:
    require_backend()

    with pytest.raises(BackendUnavailable) as caught:
        TransformersSummarizer(model_id).load()

    assert str(caught.value) == not_found(model_id)


def test_a_directory_without_a_model_is_a_clear_error(tmp_path: Path) -> None:
    require_backend()

    with pytest.raises(BackendUnavailable) as caught:
        TransformersSummarizer(str(tmp_path)).load()

    assert str(caught.value) == f"{tmp_path} holds no config.json: not a saved transformers model"


def test_a_model_that_is_not_seq2seq_is_a_clear_error(tmp_path: Path) -> None:
    require_backend()
    from transformers import BertConfig

    BertConfig(
        vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=1
    ).save_pretrained(tmp_path)
    build_tokenizer().save_pretrained(tmp_path)

    with pytest.raises(BackendUnavailable) as caught:
        TransformersSummarizer(str(tmp_path)).load()

    message = str(caught.value)
    assert message.startswith(f"cannot load {tmp_path} as a summarisation model: ")
    assert "BertConfig" in message
    assert "\n" not in message


class RepositoryNotFoundError(Exception):
    """Named like huggingface_hub's error, which transformers chains under its OSError."""


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    ("offline", "hub_answer", "expected_calls", "expected_message"),
    [
        ("1", None, [True], not_found("org/model")),
        (None, None, [True, False], not_found("org/model")),
        (
            None,
            RepositoryNotFoundError("404"),
            [True, False],
            "model org/model is not on the Hugging Face hub (or needs a login); "
            "set LABSERVE_SUMMARIZER_MODEL to a local directory",
        ),
    ],
    ids=["offline-cache-only", "cache-then-unreachable-hub", "cache-then-unknown-on-hub"],
)
def test_hub_ids_are_read_from_the_cache_first(
    monkeypatch: pytest.MonkeyPatch,
    offline: str | None,
    hub_answer: Exception | None,
    expected_calls: list[bool],
    expected_message: str,
) -> None:
    """The translation of hub failures, without the hub client's slow retries."""
    require_backend()
    import transformers

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    if offline:
        monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    calls: list[bool] = []

    def from_pretrained(source: str, *, local_files_only: bool) -> None:
        calls.append(local_files_only)
        if local_files_only or hub_answer is None:
            raise OSError(f"couldn't connect to load {source}")
        raise OSError(f"{source} is not a valid repository") from hub_answer

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", from_pretrained)

    with pytest.raises(BackendUnavailable) as caught:
        TransformersSummarizer("org/model").load()

    assert calls == expected_calls
    assert str(caught.value) == expected_message
