"""Summarise text: an offline extractive backend by default, transformers optionally."""

from labserve.models.summarizer.model import (
    DEFAULT_MODEL_ID,
    MAX_SUMMARY_LENGTH,
    MAX_TEXT_CHARS,
    SummarizerModel,
    SummaryInput,
    SummaryParameters,
)
from labserve.models.summarizer.sentences import split_sentences

__all__ = [
    "DEFAULT_MODEL_ID",
    "MAX_SUMMARY_LENGTH",
    "MAX_TEXT_CHARS",
    "SummarizerModel",
    "SummaryInput",
    "SummaryParameters",
    "split_sentences",
]
