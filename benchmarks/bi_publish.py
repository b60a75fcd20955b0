"""What publishing the BI copy of a DuckDB warehouse costs (``crmhub.warehouse.publish``).

    .venv/bin/python -m benchmarks.bi_publish --scale 1000 100000
    .venv/bin/python -m benchmarks.bi_publish --scale 1000000

Per scale (N golden contacts, the reconciled batch of ``benchmarks.warehouse_load``: 1.3N xref rows,
2N lineage rows, 5N interactions, ...; plus 1.3N raw payloads of about 700 bytes, as ingest lands
them) a DuckDB warehouse is built once, then timed on it:

* ``publish``: what a task's close does after a load: CHECKPOINT, byte copy, read-only check of the
  copy, fsync, rename (best of 3).
* ``copy_from_database``: the alternative, ``ATTACH`` a new file and ``COPY FROM DATABASE`` into it.
* ``unchanged_check``: a close with nothing new to publish (the state query and the manifest read).

Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def raw_frame(n: int, seed: int = 13) -> pd.DataFrame:
    """``1.3 n`` raw payloads of about 700 bytes (JSON of a vendor contact)."""
    rng = np.random.default_rng(seed)
    rows = int(n * 1.3)
    words = np.array(["Amsterdam", "Utrecht", "Haarlem", "Zwolle", "Delft", "Leiden", "Gouda", "Breda"])
    payloads = [
        json.dumps(
            {
                "id": str(i),
                "properties": {
                    "firstname": f"Voornaam{i % 977}",
                    "lastname": f"Achternaam{i % 1531}",
                    "email": f"persoon.{i}@example.nl",
                    "phone": f"+316{i:08d}",
                    "city": str(rng.choice(words)),
                    "notes": " ".join(rng.choice(words, 40)),
                    "lastmodifieddate": "2025-03-01T10:00:00Z",
                },
            }
        )
        for i in range(rows)
    ]
    stamp = pd.Timestamp("2025-03-01T10:00:00", tz="UTC")
    return pd.DataFrame(
        {
            "source": "hubspot",
            "object_type": "contact",
            "source_id": [str(i) for i in range(rows)],
            "source_updated_at": stamp,
            "payload": payloads,
            "payload_hash": [f"{i:064x}" for i in range(rows)],
            "run_id": "bench",
            "extracted_at": stamp,
        }
    )


def build(path: Path, n: int) -> float:
    """A migrated warehouse with raw payloads and one full load of ``n`` contacts; seconds taken."""
    from benchmarks.warehouse_load import generate
    from crmhub.warehouse import LoadBatch, Warehouse

    started = time.monotonic()
    with Warehouse.from_url(f"duckdb://{path}") as wh:
        wh.migrate()
        wh.land_raw(raw_frame(n))
        wh.load_reconciled(LoadBatch("bench-1", **generate(n)))
    return time.monotonic() - started


def best(runs: int, action) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.monotonic()
        action()
        times.append(time.monotonic() - started)
    return min(times)


def bench_scale(n: int, folder: Path) -> dict[str, float | int]:
    import duckdb

    from crmhub.warehouse import publish

    live = folder / "warehouse.duckdb"
    target = folder / "warehouse.bi.duckdb"
    build_seconds = build(live, n)
    conn = duckdb.connect(str(live))
    conn.execute("CHECKPOINT")
    size = live.stat().st_size
    publish_s = best(3, lambda: publish.publish(conn, live, target))
    unchanged_s = best(3, lambda: publish.publish_if_changed(conn, live, target))

    def copy_from_database() -> None:
        other = folder / "copied.duckdb"
        other.unlink(missing_ok=True)
        conn.execute(f"ATTACH '{other}' AS copied")
        try:
            conn.execute("COPY FROM DATABASE warehouse TO copied")
        finally:
            conn.execute("DETACH copied")

    copy_db_s = best(1, copy_from_database)
    copied_size = (folder / "copied.duckdb").stat().st_size
    conn.close()
    return {
        "contacts": n,
        "file_mb": round(size / 2**20, 1),
        "build_s": round(build_seconds, 1),
        "publish_s": round(publish_s, 3),
        "copy_from_database_s": round(copy_db_s, 3),
        "copy_from_database_mb": round(copied_size / 2**20, 1),
        "unchanged_check_s": round(unchanged_s, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", nargs="+", type=int, default=[1000, 100_000], help="golden contacts")
    args = parser.parse_args(argv)
    os.environ["CRMHUB_WAREHOUSE_BI_FILE"] = "off"  # the builds close without publishing; timed here
    for n in args.scale:
        with tempfile.TemporaryDirectory(prefix="crmhub-bi-publish-") as tmp:
            print(json.dumps(bench_scale(n, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
