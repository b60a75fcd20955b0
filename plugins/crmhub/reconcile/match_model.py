"""A frozen Fellegi–Sunter match model: m/u per comparison level, term frequencies, thresholds.

The weights of the fuzzy matcher come from data, but a run never re-estimates them: a model is trained
once (:mod:`crmhub.reconcile.train`, an explicit command), written to a versioned JSON file in the
repository (``include/models/match_model.json``) and read by every run, so the same input always gives
the same pairs and golden IDs, whatever the day's population.

Per comparison level the file holds ``m`` (how often true matches show the level) and ``u`` (how often
random pairs do); the level's weight is ``log2(m / u)``. Term-frequency tables make a rare value count
more than a common one: on an exact name the weight uses the name's own frequency instead of the
average ``u`` (``log2(u / f(value))`` is added), likewise for street, postcode and city. Only values held
by at least ``min_count`` training records are stored (no rare, identifying values in the repository);
every other value counts as rare (``floor``). ``link``/``review`` are score thresholds derived from a
target precision on the training pairs.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Levels whose weight takes a term-frequency adjustment, per comparison, and the tf field used.
TF_LEVELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "name": (("exact", "close"), ("first", "last")),
    "street": (("exact",), ("street",)),
    "postcode": (("same",), ("postcode",)),
    "city": (("same",), ("city",)),
}
#: An adjustment never moves a level by more than this many bits either way.
TF_CLIP = 6.0
FORMAT = 1


@dataclass(frozen=True)
class MatchModel:
    """The trained model; :meth:`weights` gives the per-level weights the scorer adds."""

    comparisons: dict[str, dict[str, dict[str, float]]]
    prior: float
    tf: dict[str, dict[str, float]] = field(default_factory=dict)
    tf_floor: dict[str, float] = field(default_factory=dict)
    link: float = 12.0
    review: float = 5.0
    target_precision: float = 0.99
    trained: dict[str, Any] = field(default_factory=dict)

    def weights(self) -> dict[str, dict[str, float]]:
        return {
            comp: {level: round(math.log2(max(p["m"], 1e-9) / max(p["u"], 1e-12)), 3) for level, p in levels.items()}
            for comp, levels in self.comparisons.items()
        }

    @property
    def prior_bits(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def log_freq(self, field_name: str, values: np.ndarray) -> np.ndarray:
        """log2 frequency per value of a vocabulary (the floor for values not in the table)."""
        table = self.tf.get(field_name, {})
        floor = math.log2(self.tf_floor.get(field_name, 1e-6))
        return np.fromiter(
            (math.log2(table[v]) if v in table else floor for v in values.tolist()), dtype=float, count=len(values)
        )

    def u_bits(self, comparison: str, level: str) -> float:
        return math.log2(max(self.comparisons[comparison][level]["u"], 1e-12))

    # ------------------------------------------------------------------------------------- file
    def to_dict(self) -> dict[str, Any]:
        body = {
            "format": FORMAT,
            "prior": self.prior,
            "link": self.link,
            "review": self.review,
            "target_precision": self.target_precision,
            "comparisons": self.comparisons,
            "weights": self.weights(),
            "tf_floor": self.tf_floor,
            "tf": self.tf,
            "trained": self.trained,
        }
        return {"version": model_version(body), **body}

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False, sort_keys=False) + "\n", "utf-8")
        return target

    @property
    def version(self) -> str:
        return self.to_dict()["version"]


def model_version(body: dict[str, Any]) -> str:
    """A content hash: two files with the same parameters have the same version."""
    keep = {k: body[k] for k in ("prior", "link", "review", "comparisons", "tf_floor", "tf")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


def load_model(path: str | Path) -> MatchModel:
    """Read a model file (see :meth:`MatchModel.save`); a broken file raises ValueError naming it."""
    file = Path(path)
    try:
        data = json.loads(file.read_text("utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"unsupported format {data.get('format')!r}")
        return MatchModel(
            comparisons={
                c: {lv: {"m": float(p["m"]), "u": float(p["u"])} for lv, p in ls.items()}
                for c, ls in data["comparisons"].items()
            },  # fmt: skip
            prior=float(data["prior"]),
            tf={f: {str(k): float(v) for k, v in t.items()} for f, t in data.get("tf", {}).items()},
            tf_floor={f: float(v) for f, v in data.get("tf_floor", {}).items()},
            link=float(data["link"]),
            review=float(data["review"]),
            target_precision=float(data.get("target_precision", 0.99)),
            trained=dict(data.get("trained", {})),
        )
    except (OSError, KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"{file}: not a match model: {exc}") from exc
