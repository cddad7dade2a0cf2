"""Build a held-out evaluation folder: other papers of the development set's two sources.

The development set (a folder with ``summaries.jsonl`` and its scorer ``score_summaries.py``)
holds SumPubMed papers (BioMed Central bodies -> their authors' abstracts) and SciTLDR-A
abstracts (-> one-sentence TLDRs). Weights tuned on it may fit those 70 pairs only; this
script selects *other* pairs from copies of the same public sources, by the same rules, so
``benchmarks/summarize.py --eval-dir OUT`` checks that the margins carry over.

    .venv/bin/python benchmarks/heldout_pairs.py --dev DEV --sumpubmed SUMPUBMED \\
        --scitldr test.jsonl --out OUT

- ``--sumpubmed``: a folder with ``text/text_N.txt`` and ``abstract/abstract_N.txt`` as in
  the repository ``vgupta123/sumpubmed``. Ids above the development set's highest are taken in
  ascending order. Kept: no MathType markup, a cleaned body of 1,500-5,000 words, a cleaned
  abstract of 150-400 words, at most 20% of the abstract's sentences (of 6+ words) copied
  word for word into the body.
- ``--scitldr``: lines of ``SciTLDR-Data/SciTLDR-A/test.jsonl`` (repository
  ``allenai/scitldr``; only ``paper_id``, ``source`` and ``target`` are read). Papers of the
  development set are left out; kept: an abstract of 150-300 words.

Cleaning follows the development set's notes: a body loses ``<cit>`` markers, heading lines
(upper case, or 20 words or fewer without closing punctuation), back matter (competing
interests, contributions, acknowledgements, additional files, funding...) up to the next main
heading, and lines that are over 40% ``<dig>``; an abstract loses its section labels and
everything from keywords, supplementary material, copyright or trial registration on.
Nothing here is shipped with labserve: the sources' licences are theirs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

BODY_WORDS = (1500, 5000)
ABSTRACT_WORDS = (150, 400)
SCITLDR_WORDS = (150, 300)
MAX_COPIED_SHARE = 0.2
DIG_SHARE = 0.4

_BACK_MATTER = re.compile(
    r"(?:list of )?abbreviations|competing interests|authors['’]? contributions"
    r"|acknowledge?ments?|additional files?|(?:electronic )?supplementary|funding"
    r"|declarations|availability|ethics|consent",
    re.I,
)
_CLOSING = re.compile(r"[.!?:;)\]\"”]$")
_ABSTRACT_END = re.compile(
    r"keywords|electronic supplementary material|copyright|©|trial registration", re.I
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def word_count(text: str) -> int:
    return len(text.split())


def tidy(line: str) -> str:
    """Drop citation markers and the spaces they leave before punctuation."""
    line = re.sub(r"\s+", " ", line.replace("<cit>", " ")).strip()
    return re.sub(r" ([.,;:])", r"\1", line)


def is_heading(line: str) -> bool:
    return line.isupper() or (word_count(line) <= 20 and not _CLOSING.search(line))


def clean_body(raw: str) -> str:
    """The article body as paragraphs separated by blank lines."""
    paragraphs: list[str] = []
    in_back_matter = False
    for line in (line.strip() for line in raw.split("\n")):
        if not line:
            continue
        if line.isupper():  # a main section heading ends any back matter
            in_back_matter = False
            continue
        if is_heading(line):
            in_back_matter = in_back_matter or bool(_BACK_MATTER.match(line))
            continue
        words = line.split()
        if in_back_matter or sum("<dig>" in word for word in words) > DIG_SHARE * len(words):
            continue
        paragraphs.append(tidy(line))
    return "\n\n".join(paragraphs)


def clean_abstract(raw: str) -> str:
    """The abstract as one string, without section labels or what follows its end."""
    kept: list[str] = []
    for line in (line.strip() for line in raw.split("\n")):
        if not line or line.isupper():
            continue
        end = _ABSTRACT_END.search(line)
        if end:
            kept.append(line[: end.start()])
            break
        kept.append(line)
    return tidy(" ".join(kept))


def copied_share(abstract: str, body: str) -> float:
    sentences = [s for s in _SENTENCE_END.split(abstract) if word_count(s) >= 6]
    return sum(s in body for s in sentences) / len(sentences) if sentences else 0.0


def numbered(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


def sumpubmed_pairs(folder: Path, after: int) -> Iterator[dict[str, object]]:
    for text_path in sorted((folder / "text").glob("text_*.txt"), key=numbered):
        number = numbered(text_path)
        abstract_path = folder / "abstract" / f"abstract_{number}.txt"
        if number <= after or not abstract_path.is_file():
            continue
        raw = text_path.read_text(encoding="utf-8")
        body = clean_body(raw)
        abstract = clean_abstract(abstract_path.read_text(encoding="utf-8"))
        if (
            "MathType" in raw
            or not BODY_WORDS[0] <= word_count(body) <= BODY_WORDS[1]
            or not ABSTRACT_WORDS[0] <= word_count(abstract) <= ABSTRACT_WORDS[1]
            or copied_share(abstract, body) > MAX_COPIED_SHARE
        ):
            continue
        yield {
            "id": f"sumpubmed-{number}",
            "source": f"vgupta123/sumpubmed text/text_{number}.txt"
            f" + abstract/abstract_{number}.txt",
            "kind": "fulltext",
            "document": body,
            "references": [abstract],
        }


def scitldr_pairs(files: list[Path], skip: set[str]) -> Iterator[dict[str, object]]:
    seen: set[str] = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            paper = json.loads(line)
            key = f"scitldr-a-{paper['paper_id']}"
            document = " ".join(" ".join(paper["source"]).split())
            if key in skip or key in seen:
                continue
            seen.add(key)
            if SCITLDR_WORDS[0] <= word_count(document) <= SCITLDR_WORDS[1]:
                yield {
                    "id": key,
                    "source": "allenai/scitldr SciTLDR-Data/SciTLDR-A/test.jsonl",
                    "kind": "abstract",
                    "document": document,
                    "references": [" ".join(t.split()) for t in paper["target"] if t.strip()],
                }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=Path, required=True, help="the development set's folder")
    parser.add_argument("--sumpubmed", type=Path, help="copy of vgupta123/sumpubmed's files")
    parser.add_argument("--scitldr", type=Path, nargs="*", default=[], help="SciTLDR-A lines")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with open(args.dev / "summaries.jsonl", encoding="utf-8") as lines:
        dev_ids = {json.loads(line)["id"] for line in lines if line.strip()}
    last_dev_paper = max(
        (int(i.rsplit("-", 1)[1]) for i in dev_ids if i.startswith("sumpubmed-")), default=0
    )
    pairs = [
        *(sumpubmed_pairs(args.sumpubmed, last_dev_paper) if args.sumpubmed else ()),
        *scitldr_pairs(args.scitldr, dev_ids),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "summaries.jsonl", "w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(pair, ensure_ascii=False) + "\n")
    shutil.copy(args.dev / "score_summaries.py", args.out / "score_summaries.py")
    kinds = [pair["kind"] for pair in pairs]
    print(
        f"{args.out / 'summaries.jsonl'}: {kinds.count('fulltext')} paper bodies "
        f"(SumPubMed ids above {last_dev_paper}), {kinds.count('abstract')} abstracts"
    )


if __name__ == "__main__":
    main()
