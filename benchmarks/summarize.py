"""Summarizer benchmark: speed of the extractive backend, and ROUGE against two baselines.

Speed: documents per second on 500-word texts, and the time for one 60,000-word document
(synthetic word soup, the worst case for the similarity graph because every sentence shares
words with every other, and real README prose).

Quality: ROUGE-1/2/L F1 (``rouge-score``, stemmed) of labserve's extractive summaries (at most
``MAXLEN`` words), a Lead-3 baseline and sumy's LexRank (both cut to ``MAXLEN`` words, the same
budget), on document/reference pairs found offline: the Python packages installed in this
environment. Each package's long description (its README, markup and code stripped) is the
document and its one-line ``Summary`` the reference. Nothing is downloaded and no data is
stored in the repository. A one-line package summary is a rough reference (it is often not a
sentence of the README), so read the numbers as a comparison of systems on the same pairs, not
as absolute quality.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/summarize.py
"""

from __future__ import annotations

import random
import re
import statistics
import time
from importlib import metadata

from labserve.models.summarizer.extractive import summarize_extractive
from labserve.models.summarizer.sentences import split_sentences

MAXLEN, MINLEN = 40, 15
MIN_PROSE_WORDS = 300

WORDS = [
    "cell",
    "protein",
    "expression",
    "tumour",
    "patients",
    "cohort",
    "dose",
    "response",
    "analysis",
    "significant",
    "increase",
    "decrease",
    "treatment",
    "control",
    "group",
    "sample",
    "measured",
    "observed",
    "model",
    "gene",
    "p53",
    "BRCA1",
    "IL-6",
    "3.5",
    "mg/mL",
    "12%",
    "et",
    "al.",
    "Fig.",
    "2",
    "i.e.",
    "e.g.",
    "vs.",
    "baseline",
    "follow-up",
    "risk",
]


def synthetic_document(words: int, seed: int) -> str:
    rng = random.Random(seed)
    sentences, total = [], 0
    while total < words:
        length = rng.randint(8, 28)
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(length)).capitalize() + ".")
        total += length
    return " ".join(sentences)


def prose(readme: str) -> str:
    """README text without code, tables, links, badges, headings or markup."""
    text = re.sub(r"```.*?```|~~~.*?~~~", " ", readme, flags=re.S)
    text = re.sub(r"^\s*(\.\. |::|>>>|\$ |\|).*$", " ", text, flags=re.M)
    text = re.sub(r"^( {4,}|\t).*$", " ", text, flags=re.M)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)|\[!\[.*?\]\(.*?\)\]\(.*?\)", " ", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(
        r"<[^>]+>|https?://\S+|`+|\*\*|__|^#+ .*$|^[=\-~^*#]{3,}\s*$", " ", text, flags=re.M
    )
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if len(p.split()) >= 12 and p[-1:] in ".!?:)")


def pairs() -> list[tuple[str, str, str]]:
    found = {}
    for dist in metadata.distributions():
        meta = dist.metadata
        name, summary = meta.get("Name"), meta.get("Summary")
        body = meta.get_payload() or meta.get("Description") or ""  # type: ignore[attr-defined]
        if not name or not summary or len(summary.split()) < 4:
            continue
        document = prose(body)
        if len(document.split()) >= MIN_PROSE_WORDS:
            found[name.lower()] = (name, document, summary)
    return [found[k] for k in sorted(found)]


def cut(text: str, words: int) -> str:
    return " ".join(text.split()[:words])


def lead3(document: str) -> str:
    return cut(" ".join(split_sentences(document)[:3]), MAXLEN)


def sumy_lexrank(document: str) -> str:
    from sumy.nlp.tokenizers import Tokenizer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer

    class OfflineTokenizer(Tokenizer):  # type: ignore[misc]
        """sumy's tokenizer wants NLTK's punkt download; labserve's splitter needs none."""

        def __init__(self) -> None:
            self._language = "english"

        def to_sentences(self, paragraph: str) -> tuple[str, ...]:
            return tuple(split_sentences(paragraph))

        def to_words(self, sentence: str) -> tuple[str, ...]:
            return tuple(re.findall(r"\w[\w'-]*", sentence))

    parser = PlaintextParser.from_string(document, OfflineTokenizer())
    chosen = LexRankSummarizer()(parser.document, 3)
    return cut(" ".join(str(s) for s in chosen), MAXLEN)


def median_seconds(document: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        summarize_extractive(document, 60, 30)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def prose_of_length(documents: list[str], words: int) -> str:
    """Real README prose, repeated in order until it has ``words`` words (paragraphs kept)."""
    paragraphs = [p for document in documents for p in document.split("\n\n")]
    chosen, total = [], 0
    while total < words:
        paragraph = paragraphs[len(chosen) % len(paragraphs)]
        chosen.append(paragraph)
        total += len(paragraph.split())
    return "\n\n".join(chosen)


def main() -> None:
    data = pairs()
    docs = [synthetic_document(500, seed) for seed in range(50)]
    rates = []
    for _ in range(5):
        started = time.perf_counter()
        for doc in docs:
            summarize_extractive(doc, 60, 30)
        rates.append(len(docs) / (time.perf_counter() - started))
    big = synthetic_document(60_000, 99)
    real = prose_of_length([document for _, document, _ in data], 60_000)
    print("Extractive backend speed (this machine, one process, maxlen 60, minlen 30)")
    print(
        f"  {'500-word synthetic documents':40} {statistics.median(rates):8.1f} docs/s"
        "  (median of 5 runs x 50 docs)"
    )
    print(
        f"  {'one 60,000-word synthetic document':40} {median_seconds(big):8.2f} s"
        f"       (median of 3; {len(big.split()):,} words)"
    )
    print(
        f"  {'one 60,000-word document of README prose':40} {median_seconds(real):8.2f} s"
        f"       (median of 3; {len(real.split()):,} words)"
    )

    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    systems = {
        "labserve extractive (LexRank)": lambda d: summarize_extractive(d, MAXLEN, MINLEN),
        "Lead-3": lead3,
        "sumy LexRank (3 sentences)": sumy_lexrank,
    }
    print(
        f"\nROUGE F1 (mean) on {len(data)} pairs: README prose of the Python packages installed"
        f" here (>= {MIN_PROSE_WORDS} words)\nvs each package's one-line Summary; labserve uses"
        f" maxlen {MAXLEN}, minlen {MINLEN}; the baselines are cut to {MAXLEN} words"
    )
    print(f"  {'system':32} {'ROUGE-1':>8} {'ROUGE-2':>8} {'ROUGE-L':>8} {'words':>6}")
    for name, system in systems.items():
        outputs = [(reference, system(document)) for _, document, reference in data]
        scores = [scorer.score(reference, output) for reference, output in outputs]
        means = [
            statistics.mean(s[k].fmeasure for s in scores) for k in ("rouge1", "rouge2", "rougeL")
        ]
        length = statistics.mean(len(output.split()) for _, output in outputs)
        print(f"  {name:32} {means[0]:8.3f} {means[1]:8.3f} {means[2]:8.3f} {length:6.1f}")


if __name__ == "__main__":
    main()
