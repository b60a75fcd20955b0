"""Prepare labelled messages written by other people as an independent measurement of crmhub.messages.

    .venv/bin/python scripts/prepare_external_messages.py \
        --complaints PATH/complaints-data.csv \
        --germeval-dev PATH/dev.tsv --germeval-test PATH/test.tsv

writes ``tests/messages/external/data/{complaints_en,germeval2017_de}.jsonl`` (git-ignored: neither
source's licence lets us commit the text) and prints the SHA-256 of each source file. The benchmark
reads them with ``python -m benchmarks.messages.bench --external``. Nothing here is trained on.

Sources (documented in docs/messages.md, "Measurements on other data"):

* ``complaints-data.csv`` from github.com/danielpreotiuc/complaints-social-media (commit 54e3402c1293):
  3,449 English tweets labelled complaint (1) / not complaint (0) by Preotiuc-Pietro, Gaman & Aletras,
  "Automatically Identifying Complaints in Social Media", ACL 2019. The repository states no licence.
* GermEval 2017 (Wojatzki et al., shared task on aspect-based sentiment in social-media customer feedback
  about Deutsche Bahn), ``dev-2017-09-15.tsv`` and ``test_syn-2017-09-15.tsv`` as mirrored in
  github.com/LSX-UniWue/SuperGLEBer ``data/Germeval/2017/{dev,test}.tsv`` (commit 5d3c59a91ab3). Licence
  CC BY-NC 4.0 (the organisers' dataset card).

Mapping onto our labels:

* complaints: ``complaint = label == 1``; ``intent`` is ``complaint`` for label 1 and unknown otherwise
  (the set does not say what a non-complaint is). Their definition ("a negative mismatch between reality
  and expectations") also counts reports of a fault with a request for help, which our convention may
  call a service question, so this set measures a slightly wider notion of complaint than ours.
* GermEval 2017: only Twitter posts (URL on twitter.com) judged relevant to Deutsche Bahn, retweets left
  out (not the author's own message). ``sentiment`` is theirs. The *addressed* subset — tweets that
  mention ``@DB_Bahn`` or ``@DB_Info``, i.e. customers writing to the brand — gets a complaint proxy:
  ``complaint = sentiment == negative`` (negative feedback addressed to the company), intent
  ``complaint`` / ``praise`` for negative / positive and unknown for neutral.

Each row gets ``split`` ``dev`` or ``test`` from a hash of its id (about half each): the ``dev`` half may
be read for error analysis, the ``test`` half is never read message by message, so it stays an honest
measure. Each set also gets a brands file (the companies the messages address), as an installation
configures ``include/config/messages/brands.yaml`` for its own brand.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "tests" / "messages" / "external" / "data"
_HANDLE = re.compile(r"@(\w+)")
_DB_HANDLE = re.compile(r"@db_(?:bahn|info)\b", re.IGNORECASE)


def split_of(key: str) -> str:
    return "dev" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "test"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def complaints_rows(path: Path) -> tuple[list[dict], list[str]]:
    rows, seen = [], set()
    with path.open(encoding="utf-8", newline="") as fh:
        for record in csv.reader(fh):
            if len(record) != 4 or record[2] not in ("0", "1"):
                continue
            tweet_id, text, label, domain = record
            text = text.strip()
            if not text or text in seen:
                continue
            seen.add(text)
            complaint = label == "1"
            key = f"cx-{tweet_id}"
            rows.append(
                {
                    "id": key,
                    "text": text,
                    "lang": "en",
                    "complaint": complaint,
                    "intent": "complaint" if complaint else None,
                    "sentiment": None,
                    "domain": domain,
                    "split": split_of(key),
                }
            )
    # the companies addressed: handles written to at least 3 times outside the random samples
    handles = Counter(
        h.lower() for r in rows if not r["domain"].startswith("random") for h in set(_HANDLE.findall(r["text"]))
    )
    brands = sorted(h for h, c in handles.items() if c >= 3)
    return rows, brands


def germeval_rows(paths: list[Path]) -> list[dict]:
    rows, seen = [], set()
    for path in paths:
        with path.open(encoding="utf-8", newline="") as fh:
            for record in csv.reader(fh, delimiter="\t"):
                if len(record) < 4:
                    continue
                url, text, relevance, sentiment = record[:4]
                text = " ".join(text.split())
                if "twitter.com" not in url or relevance != "true" or not text or text in seen:
                    continue
                if text.lower().startswith("rt @"):
                    continue
                seen.add(text)
                addressed = bool(_DB_HANDLE.search(text))
                key = "ge-" + hashlib.sha256(url.encode()).hexdigest()[:16]
                row = {
                    "id": key,
                    "text": text,
                    "lang": "de",
                    "sentiment": sentiment,
                    "addressed": addressed,
                    "complaint": (sentiment == "negative") if addressed else None,
                    "intent": {"negative": "complaint", "positive": "praise"}.get(sentiment) if addressed else None,
                    "source_file": path.name,
                    "split": split_of(key),
                }
                rows.append(row)
    return rows


def write(name: str, rows: list[dict], brands: list[str], competitors: list[str]) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (OUT_DIR / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    brands_file = {"brand": {"names": brands}, "competitors": {"names": competitors}, "vendor_tags": {"map": {}}}
    (OUT_DIR / f"{name}.brands.json").write_text(json.dumps(brands_file, indent=1) + "\n", encoding="utf-8")
    labelled = [r for r in rows if r["complaint"] is not None]
    print(
        f"{name}: {len(rows)} messages, {len(labelled)} with a complaint label "
        f"({sum(r['complaint'] for r in labelled)} complaints), "
        f"{sum(r['split'] == 'test' for r in rows)} in the test half; {len(brands)} brand names"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=Path, help="complaints-data.csv (Preotiuc-Pietro et al. 2019)")
    parser.add_argument("--germeval-dev", type=Path, help="GermEval 2017 dev TSV")
    parser.add_argument("--germeval-test", type=Path, help="GermEval 2017 test_syn TSV")
    args = parser.parse_args(argv)
    if args.complaints:
        print(f"sha256 {sha256(args.complaints)}  {args.complaints.name}")
        rows, brands = complaints_rows(args.complaints)
        write("complaints_en", rows, brands, [])
    germeval = [p for p in (args.germeval_dev, args.germeval_test) if p]
    for p in germeval:
        print(f"sha256 {sha256(p)}  {p.name}")
    if germeval:
        write(
            "germeval2017_de",
            germeval_rows(germeval),
            ["DB_Bahn", "DB_Info", "DBBahn", "Deutsche Bahn", "DB"],
            ["FlixBus", "MeinFernbus", "FlixTrain"],
        )
    if not args.complaints and not germeval:
        parser.error("give --complaints and/or --germeval-dev/--germeval-test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
