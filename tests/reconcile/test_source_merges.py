"""A merge done inside a source (HubSpot, Salesforce, Dataverse) links the two records in the hub."""

from __future__ import annotations

from crmhub.reconcile import reconcile


def test_record_merged_in_source_joins_its_winner_golden_record(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("salesforce", "003A", first_name="Jan", last_name="Jansen"),
        contact(
            "salesforce", "003B", first_name="J.", last_name="Janssen", is_deleted=True, merged_into_source_id="003A"
        ),  # fmt: skip
    )
    result = reconcile(frame, default_rules)
    by_id = result.xref.set_index("source_id")
    assert by_id.loc["003A", "golden_id"] == by_id.loc["003B", "golden_id"]
    assert by_id.loc["003B", "match_rule"] == "source_merge"
    assert result.stats["source_merge_links"] == 1
    assert result.golden["is_deleted"].tolist() == [False]


def test_merge_target_in_another_source_links_nothing(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "1", first_name="Anna", last_name="Bos"),
        contact("salesforce", "2", first_name="Piet", last_name="Kok", merged_into_source_id="1"),
    )
    result = reconcile(frame, default_rules)
    assert result.xref["golden_id"].nunique() == 2
    assert result.stats["source_merge_links"] == 0


def test_golden_social_value_is_the_largest_audience_of_its_records(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="sara@example.nl", social_followers=120),
        contact("sprout", "twitter:sara", email="sara@example.nl", social_followers=4500),
        contact("hubspot", "h2", email="kees@example.nl"),
    )
    golden = reconcile(frame, default_rules).golden.set_index("email")
    assert golden.loc["sara@example.nl", "social_followers"] == 4500
    assert golden["social_followers"].isna().sum() == 1
