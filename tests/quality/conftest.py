"""Clean frames for every quality stage; each test breaks exactly one thing in a copy."""

from __future__ import annotations

import pandas as pd
import pytest

from crmhub.model import CONTACT_COLUMNS, GOLDEN_COLUMNS, INTERACTION_COLUMNS, conform

UPDATED = pd.Timestamp("2024-05-01T10:00:00Z")


@pytest.fixture
def canonical_contacts() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "source": ["hubspot", "hubspot", "hootsuite"],
                "source_id": ["101", "102", "twitter:jan_devries"],
                "source_updated_at": [UPDATED] * 3,
                "first_name": ["Jan", "Sara", None],
                "last_name": ["Vries", "Ahmadi", None],
                "email": ["jan@example.nl", "sara@example.com", None],
                "social_network": [None, None, "twitter"],
                "social_handle": [None, None, "jan_devries"],
            }
        ),
        CONTACT_COLUMNS,
    )


@pytest.fixture
def golden_contacts() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "golden_id": ["g-001", "g-002", "g-003"],
                "first_name": ["Jan", "Sara", None],
                "last_name": ["Vries", "Ahmadi", None],
                "email": ["jan@example.nl", "sara@example.com", None],
                "phone": ["+31612345678", "+4915112345678", None],
                "postcode": ["1234 AB", "10115", None],
                "country": ["NL", "DE", None],
                "social_handle": [None, None, "jan_devries"],
                "source_updated_at": [UPDATED] * 3,
            }
        ),
        GOLDEN_COLUMNS,
    ).assign(source_records=[2, 1, 1])  # cross-reference rows per golden id, added by the golden gate


@pytest.fixture
def golden_xref() -> pd.DataFrame:
    """Source records with the golden record the cross-reference puts them in."""
    return pd.DataFrame(
        {
            "source": ["hubspot", "hubspot", "hootsuite", "hootsuite"],
            "source_id": ["101", "102", "twitter:jan_devries", "twitter:someone"],
            "golden_id": ["g-001", "g-002", "g-001", "g-003"],
            "golden_exists": [True, True, True, True],
        }
    )


@pytest.fixture
def canonical_interactions() -> pd.DataFrame:
    return conform(
        pd.DataFrame(
            {
                "source": ["hootsuite", "hootsuite", "hubspot"],
                "source_id": ["m1", "m2", "m1"],
                "contact_source_id": ["twitter:jan_devries", None, "101"],
                "occurred_at": [UPDATED] * 3,
                "channel": ["twitter", "facebook", "email"],
                "direction": ["inbound", "outbound", "inbound"],
                "interaction_type": ["reply", "post", "email"],
                "text": ["@jan_devries thanks!", "Our autumn sale", "Re: invoice"],
            }
        ),
        INTERACTION_COLUMNS,
    )


@pytest.fixture
def interactions() -> pd.DataFrame:
    frame = conform(
        pd.DataFrame(
            {
                "source": ["hootsuite", "hootsuite", "hubspot"],
                "source_id": ["m1", "m2", "m1"],
                "contact_source_id": ["twitter:jan_devries", None, "101"],
                "occurred_at": [UPDATED] * 3,
                "channel": ["twitter", "facebook", "email"],
                "direction": ["inbound", "outbound", "inbound"],
            }
        ),
        INTERACTION_COLUMNS,
    )
    frame["golden_id"] = ["g-001", "g-002", "g-001"]
    frame["golden_exists"] = True
    return frame
