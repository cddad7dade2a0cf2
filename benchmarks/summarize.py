"""Summarizer benchmark: speed and bounded cost of the extractive backend, and ROUGE.

Speed: documents per second on 500-word texts, the time for a 5,000-word paper and for one
60,000-word document (synthetic word soup and real README prose), and the time for
1,000,000-character adversarial texts (one sentence repeated, a million digits, word soup
without sentence ends, hundreds of thousands of tiny sentences), each with its summary length.

Quality on an evaluation set of real papers (optional): with ``--eval-dir DIR`` or the
``LABSERVE_EVAL_DIR`` environment variable pointing at a folder holding ``summaries.jsonl`` and
``score_summaries.py`` (document/reference pairs and their scorer, which are not part of this
project), ROUGE-1/2/L of labserve next to that scorer's own baselines (Lead, sumy LexRank and
TextRank) at the scorer's budgets, for all pairs and for the even (A) and odd (B) halves
separately: weights were chosen on half A, so half B is the check that they generalise.
``--eval-dir`` may be given more than once (``LABSERVE_EVAL_DIR``: folders separated by
``:``), for example the development set and a held-out set built from other papers of the
same sources by ``benchmarks/heldout_pairs.py``; each gets its own tables.

Quality: ROUGE-1/2/L F1 (``rouge-score``, stemmed) of labserve's extractive summaries (at most
``MAXLEN`` words), a Lead-3 baseline and sumy's LexRank (both cut to ``MAXLEN`` words, the same
budget), on document/reference pairs found offline: the Python packages installed in this
environment. Each package's long description (its README, markup and code stripped) is the
document and its one-line ``Summary`` the reference. Nothing is downloaded and no data is
stored in the repository. A one-line package summary is a rough reference (it is often not a
sentence of the README), so read the numbers as a comparison of systems on the same pairs, not
as absolute quality.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/summarize.py \
        [--eval-dir DIR ...] [--skip-speed] [--skip-readme]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType

from labserve.models.summarizer.cleaning import clean_text
from labserve.models.summarizer.extractive import summarize_extractive
from labserve.models.summarizer.sentences import split_sentences
from labserve.models.summarizer.spans import summarize_with_sources

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
    """Median wall time of summarising ``document`` (maxlen 60, minlen 30)."""
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


def adversarial_texts() -> dict[str, str]:
    """1,000,000-character inputs that once took quadratic time or gave unbounded output."""
    rng = random.Random(13)
    size = 1_000_000
    repeated = "Restoring p53 raised cisplatin-induced apoptosis in ovarian tumour cells. "
    soup = " ".join(rng.choice(WORDS).replace(".", "") for _ in range(size // 5))
    return {
        "one sentence repeated": (repeated * (size // len(repeated) + 1))[:size],
        "1,000,000 digits": "7" * size,
        "word soup, no sentence end": soup[:size],
        "200,000 tiny sentences": ("A b. " * (size // 5))[:size],
        "letters, no spaces": "".join(rng.choice("abcdefgh.,;") for _ in range(size)),
    }


def speed(documents: list[str]) -> None:
    docs = [synthetic_document(500, seed) for seed in range(50)]
    summarize_extractive(docs[0], 60, 30)  # loads the sentence model
    rates = []
    for _ in range(5):
        started = time.perf_counter()
        for doc in docs:
            summarize_extractive(doc, 60, 30)
        rates.append(len(docs) / (time.perf_counter() - started))
    paper = synthetic_document(5_000, 98)
    big = synthetic_document(60_000, 99)
    print("Extractive backend speed (this machine, one process, maxlen 60, minlen 30)")
    print(
        f"  {'500-word synthetic documents':44} {statistics.median(rates):8.1f} docs/s"
        "  (median of 5 runs x 50 docs)"
    )
    print(
        f"  {'one 5,000-word synthetic paper':44} {median_seconds(paper, 5):8.3f} s   (median of 5)"
    )
    print(
        f"  {'one 60,000-word synthetic document':44} {median_seconds(big):8.3f} s   (median of 3)"
    )
    if documents:
        real = prose_of_length(documents, 60_000)
        print(f"  {'one 60,000-word document of README prose':44} {median_seconds(real):8.3f} s")
    print(
        "\nBounded cost: 1,000,000-character texts, raw input -> summary with sources (maxlen 60)"
    )
    for name, text in adversarial_texts().items():
        started = time.perf_counter()
        traced = summarize_with_sources(text, 60, 30)
        seconds = time.perf_counter() - started
        print(
            f"  {name:44} {seconds:8.2f} s   {len(traced.summary.split()):3d} words, "
            f"{len(traced.summary):5d} chars, {len(traced.sources)} spans"
        )


def readme_rouge(data: list[tuple[str, str, str]]) -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    systems: dict[str, Callable[[str], str]] = {
        "labserve extractive": lambda d: summarize_extractive(d, MAXLEN, MINLEN),
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


def load_scorer(eval_dir: Path) -> ModuleType:
    """The evaluation set's own scorer, imported from its folder (it is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "score_summaries", eval_dir / "score_summaries.py"
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {eval_dir / 'score_summaries.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def eval_rouge(eval_dir: Path) -> None:
    """ROUGE of labserve and the scorer's baselines on the evaluation pairs, by half."""
    scoring = load_scorer(eval_dir)
    with open(eval_dir / "summaries.jsonl", encoding="utf-8") as lines:
        pairs = [json.loads(line) for line in lines if line.strip()]
    scorer = scoring.rouge_scorer.RougeScorer(list(scoring.METRICS), use_stemmer=True)
    baselines = scoring.Baselines()
    metrics = ("rouge1", "rouge2", "rougeL")
    for kind in scoring.KINDS:
        subset = [pair for pair in pairs if pair["kind"] == kind]
        if not subset:
            continue
        maxlen = scoring.DEFAULT_MAXLEN[kind]
        minlen = maxlen // 2
        print(
            f"\n== {eval_dir.name} {kind}: {len(subset)} pairs, budget {maxlen} words "
            f"(minlen {minlen}); ROUGE F1 x100; A = even-numbered pairs (tuning half), "
            "B = odd (held out)"
        )
        print(f"  {'system':10} {'half':>4} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'words':>6}")
        overall: dict[str, list[float]] = {}
        for name in ("lead", "lexrank", "textrank", "labserve"):
            summaries = [
                summarize_extractive(clean_text(pair["document"]), maxlen, minlen)
                if name == "labserve"
                else baselines.run(name, scoring.paragraphs(pair["document"]), maxlen)
                for pair in subset
            ]
            scores = [
                scoring.best_scores(scorer, pair["references"], summary)
                for pair, summary in zip(subset, summaries, strict=True)
            ]
            for half, rows in (("all", scores), ("A", scores[0::2]), ("B", scores[1::2])):
                means = [100 * statistics.fmean(row[m] for row in rows) for m in metrics]
                overall.setdefault(name, means)  # "all" comes first
                words = statistics.fmean(len(summary.split()) for summary in summaries)
                print(
                    f"  {name:10} {half:>4} {means[0]:6.2f} {means[1]:6.2f} {means[2]:6.2f}"
                    + (f" {words:6.1f}" if half == "all" else "")
                )
        ours = overall.pop("labserve")
        margins = [
            f"{label} {100 * (ours[m] / max(means[m] for means in overall.values()) - 1):+.1f}%"
            for label, m in (("R-1", 0), ("R-L", 2))
        ]
        print(f"  labserve against the best baseline (all pairs): {', '.join(margins)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--eval-dir",
        type=Path,
        action="append",
        help="folder with summaries.jsonl and score_summaries.py, repeatable "
        "(or LABSERVE_EVAL_DIR, folders separated by ':')",
    )
    parser.add_argument("--skip-speed", action="store_true", help="no speed measurements")
    parser.add_argument("--skip-readme", action="store_true", help="no README-based pairs")
    args = parser.parse_args()
    data = [] if args.skip_readme and args.skip_speed else pairs()
    if not args.skip_speed:
        speed([document for _, document, _ in data])
    if not args.skip_readme:
        readme_rouge(data)
    eval_dirs: list[Path] = args.eval_dir or [
        Path(folder) for folder in os.environ.get("LABSERVE_EVAL_DIR", "").split(":") if folder
    ]
    missing = [folder for folder in eval_dirs if not (folder / "summaries.jsonl").is_file()]
    if not eval_dirs or missing:
        print(
            "\nNote: no evaluation set (give --eval-dir DIR or set LABSERVE_EVAL_DIR to a folder "
            "with summaries.jsonl and score_summaries.py); ROUGE on real papers skipped"
            + (f" for {', '.join(map(str, missing))}." if missing else ".")
        )
    for eval_dir in eval_dirs:
        if eval_dir not in missing:
            eval_rouge(eval_dir)


if __name__ == "__main__":
    main()
