"""Message understanding for inbound social messages (issue 14): language, intent, complaint, sentiment.

Core (no Airflow import). Rules and lexicons per language in ``include/config/messages/`` with weighted
cues, negation scope, sarcasm and competitor handling, and a frozen logistic-regression model
(``include/models/message_model.json``) over character n-grams and the rules' evidence that decides the
intent; every result carries its evidence (rules fired, cue counts, scores, probabilities, model id),
never the message text. See docs/messages.md.

    >>> from crmhub.messages import classify
    >>> classify("Waarom duurt het 3 weken??").intent
    'complaint'
"""

from crmhub.messages.core import (
    INTENTS,
    LANGUAGES,
    MODEL_ID,
    SENTIMENTS,
    Classifier,
    MessageUnderstanding,
    classify,
    classify_frame,
    default_classifier,
    normalize,
)

__all__ = [
    "INTENTS",
    "LANGUAGES",
    "MODEL_ID",
    "SENTIMENTS",
    "Classifier",
    "MessageUnderstanding",
    "classify",
    "classify_frame",
    "default_classifier",
    "normalize",
]
