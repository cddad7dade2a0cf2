"""A tiny, randomly initialised BART and a word-level tokenizer, built offline per session.

Nothing is downloaded: the tokenizer is trained on a few sentences below and the model has
16-dimensional layers, so the whole directory loads in well under a second. The window is 64
tokens, so any paragraph here is "long" and exercises chunking. The tokenizer is built in the
session rather than checked in because a tokenizer saved by transformers 5 may not load in 4.x.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from labserve.models.summarizer.transformers_backend import TransformersSummarizer

WINDOW = 64

CORPUS = [
    "The cell divides after the protein binds the DNA.",
    "Mutant mice showed a strong immune response to the virus.",
    "We measured gene expression in tumour samples from each patient.",
    "The enzyme activity increased with temperature, then fell quickly.",
    "Results suggest that the receptor controls growth of the neurons.",
    "Samples were stored at low temperature and analysed within a week.",
    "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda.",
]


def require_backend() -> None:
    """Skip without torch/transformers locally; in CI (extra installed) fail loudly instead."""
    if os.environ.get("CI"):
        import tokenizers  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    else:
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
        pytest.importorskip("tokenizers")


def long_text(sentences: int = 40) -> str:
    """Far more than one window of text, made of in-vocabulary sentences."""
    return " ".join(CORPUS[index % len(CORPUS)] for index in range(sentences))


def build_tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"]  # BART's order: bos 0, pad 1, eos 2, unk 3
    core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.train_from_iterator(CORPUS, trainers.WordLevelTrainer(special_tokens=specials))
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    # transformers 5 leaves this constructor unannotated.
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=WINDOW,
    )


def _build_model(vocab_size: int, task_params: dict[str, Any] | None) -> Any:
    import torch
    from transformers import BartConfig, BartForConditionalGeneration

    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=vocab_size,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=WINDOW,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    config.task_specific_params = task_params
    return BartForConditionalGeneration(config).eval()  # type: ignore[no-untyped-call]


def _save_tiny_model(directory: Path, task_params: dict[str, Any] | None = None) -> Path:
    tokenizer = build_tokenizer()
    model = _build_model(len(tokenizer), task_params)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub is never reachable from these tests."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def _restore_torch_threads() -> Iterator[None]:
    """load() sets torch's process-wide thread count; give the rest of the session its own."""
    require_backend()
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, _restore_torch_threads: None) -> Path:
    """A saved tiny BART + tokenizer, as a user would point LABSERVE_SUMMARIZER_MODEL at."""
    return _save_tiny_model(tmp_path_factory.mktemp("tiny-bart"))


@pytest.fixture(scope="session")
def tiny_t5_style_dir(
    tmp_path_factory: pytest.TempPathFactory, _restore_torch_threads: None
) -> Path:
    """The same tiny model with T5-style task parameters (an input prefix, beam search)."""
    params = {"summarization": {"prefix": "summarize: ", "num_beams": 2, "do_sample": True}}
    return _save_tiny_model(tmp_path_factory.mktemp("tiny-prefixed"), params)


@pytest.fixture(scope="session")
def summarizer(tiny_model_dir: Path) -> TransformersSummarizer:
    """The tiny model loaded through the real loading code, shared by read-only tests."""
    backend = TransformersSummarizer(str(tiny_model_dir))
    backend.load()
    return backend


GenerateCalls = list[dict[str, Any]]


@pytest.fixture
def spy_generate(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., GenerateCalls]:
    """Record every generate() call of a loaded backend (rows and options), optionally echoing.

    With ``echo=True`` the model "summarises" by returning its input ids cut to
    ``max_length``, so each summary shows which text it came from.
    """

    def install(backend: TransformersSummarizer, *, echo: bool = False) -> GenerateCalls:
        model = backend._model
        original = model.generate
        calls: GenerateCalls = []

        def generate(**kwargs: Any) -> Any:
            options = {key: value for key, value in kwargs.items() if key != "attention_mask"}
            options["rows"] = int(kwargs["input_ids"].shape[0])
            calls.append(options)
            if echo:
                return kwargs["input_ids"][:, : kwargs["max_length"]]
            return original(**kwargs)

        monkeypatch.setattr(model, "generate", generate)
        return calls

    return install


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to open a connection fail at once (proves a test stays offline)."""

    def refuse(*args: object, **kwargs: object) -> Any:
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
