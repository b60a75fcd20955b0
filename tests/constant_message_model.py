"""A message model that ignores the text, for tests of what the classifier does with its probabilities."""

from __future__ import annotations

import math
from typing import Any

from crmhub.messages.model import MessageModel


def constant_model(probabilities: dict[str, float], **extra: Any) -> MessageModel:
    """Its bias gives these probabilities for every text; ``extra`` adds model-file keys."""
    return MessageModel(
        {
            "format": 1,
            "version": "test",
            "classes": list(probabilities),
            "use_rules": False,
            "features": ["w:unused"],
            "weights": [[0.0] * len(probabilities)],
            "bias": [math.log(p) for p in probabilities.values()],
            **extra,
        }
    )
