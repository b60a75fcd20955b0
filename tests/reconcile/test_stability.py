"""Stability: re-running with 1% of people changed keeps every unchanged person's golden id."""

from __future__ import annotations

import dataclasses
import random

import pandas as pd

from crmhub.model import CONTACT_COLUMNS, conform
from crmhub.reconcile import reconcile

FIRST = ["Jan", "Anna", "Piet", "Sanne", "Daan", "Fleur", "Ali", "Zahra", "Bram", "Iris"]
LAST = ["de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Hosseini", "de Jong", "Smit"]


def _people(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "pid": i,
            "first": rng.choice(FIRST),
            "last": rng.choice(LAST),
            "email": f"p{i}@mail.nl",
            "street": f"Kerkstraat {rng.randint(1, 300)}",
            "postcode": f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}",
        }
        for i in range(n)
    ]


def _records(people: list[dict]) -> pd.DataFrame:
    rows = []
    for p in people:
        home = {"address_line": p["street"], "postcode": p["postcode"], "city": "Utrecht"}
        rows.append(
            {
                "source": "hubspot",
                "source_id": f"h{p['pid']}",
                "first_name": p["first"],
                "last_name": p["last"],
                "email": p["email"],
                **home,
            }
        )
        rows.append(
            {
                "source": "erp",
                "source_id": f"e{p['pid']}",
                "first_name": p["first"],
                "last_name": p["last"] + "e",
                **home,
            }
        )  # a typo and no e-mail: linked fuzzily
    frame = pd.DataFrame(rows)
    frame["source_updated_at"] = pd.Timestamp("2025-01-01", tz="UTC")
    return conform(frame.reindex(columns=CONTACT_COLUMNS), CONTACT_COLUMNS)


def test_one_percent_changed_keeps_every_unchanged_persons_id(default_rules) -> None:
    rules = dataclasses.replace(default_rules, sources=("hubspot", "erp"))
    people = _people(1000)
    first = reconcile(_records(people), rules)
    changed = set(random.Random(9).sample(range(len(people)), 10))
    for i in changed:  # moved, new e-mail, new first name: whatever happens to the 1%
        people[i] = {**people[i], "email": f"new{i}@mail.nl", "postcode": "9999 ZZ", "first": "Kees"}
    second = reconcile(_records(people), rules, previous_xref=first.xref)
    before = first.xref.set_index("source_id")["golden_id"]
    after = second.xref.set_index("source_id")["golden_id"]
    unchanged = [sid for sid in before.index if int(sid[1:]) not in changed]
    assert (before[unchanged] == after[unchanged]).all()
    assert first.xref.groupby("golden_id").size().eq(2).mean() > 0.95  # the fuzzy links did link
