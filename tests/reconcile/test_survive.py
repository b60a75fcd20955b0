from __future__ import annotations

import pandas as pd

from crmhub.model import CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS
from crmhub.reconcile import reconcile
from crmhub.reconcile.rules import AttributeRule, PrecedenceRules, load_rules


def _one(result) -> pd.Series:
    assert len(result.golden) == 1, result.golden
    return result.golden.iloc[0]


def _lineage(result, attribute: str) -> pd.Series:
    rows = result.lineage[result.lineage["attribute"] == attribute]
    assert len(rows) == 1
    return rows.iloc[0]


def _with(rules: PrecedenceRules, **changes: AttributeRule) -> PrecedenceRules:
    return PrecedenceRules(rules.sources, {**rules.attributes, **changes}, rules.matching, rules.phone_regions)


def test_frames_follow_the_canonical_contracts(contacts, contact, default_rules) -> None:
    result = reconcile(contacts(contact(email="jan@example.nl")), default_rules)
    assert list(result.golden.columns) == GOLDEN_COLUMNS
    assert list(result.lineage.columns) == LINEAGE_COLUMNS
    assert list(result.conflicts.columns) == CONFLICT_COLUMNS


def test_address_survives_as_a_block_from_one_record(contacts, contact) -> None:
    rules = load_rules()
    frame = contacts(
        # newest record, but only a city: it has the group, so the whole group comes from it
        contact("hubspot", "h1", "2024-03-01", email="jan@example.nl", city="Utrecht"),
        contact(
            "hubspot",
            "h2",
            "2024-01-01",
            email="jan@example.nl",
            address_line="Kerkstraat 12a",
            postcode="1234ab",
            city="Amsterdam",
            country="NL",
        ),
    )
    golden = _one(reconcile(frame, rules))
    assert (golden.street, golden.house_number, golden.postcode, golden.city) == (None, None, None, "Utrecht")


def test_address_is_never_mixed_across_records(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact(
            "hubspot",
            "h1",
            "2024-03-01",
            email="jan@example.nl",
            address_line="Dorpsweg 1",
            postcode="9999 ZZ",
            city="Zwolle",
        ),
        contact(
            "hubspot",
            "h2",
            "2024-01-01",
            email="jan@example.nl",
            address_line="Kerkstraat 12 bis",
            postcode="1234ab",
            city="Amsterdam",
            country="Nederland",
        ),
    )
    result = reconcile(frame, default_rules)
    golden = _one(result)
    assert (
        golden.street,
        golden.house_number,
        golden.house_number_addition,
        golden.postcode,
        golden.city,
        golden.country,
    ) == ("Dorpsweg", "1", None, "9999 ZZ", "Zwolle", None)
    assert _lineage(result, "address").source_id == "h1"


def test_most_recent_uses_business_time_not_row_order(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2024-05-01", email="jan@example.nl", address_line="Nieuweweg 2", city="Delft"),
        contact("hubspot", "h2", "2023-01-01", email="jan@example.nl", address_line="Oudeweg 1", city="Gouda"),
    )
    assert _one(reconcile(frame, default_rules)).city == "Delft"
    assert _one(reconcile(frame.iloc[::-1], default_rules)).city == "Delft"


def test_source_priority_prefers_the_first_source_even_if_older(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2020-01-01", email="jan@example.nl", first_name="Jan", last_name="van der Berg"),
        contact("hootsuite", "t1", "2024-01-01", email="jan@example.nl", first_name="Jantje", last_name="Berg"),
    )
    result = reconcile(frame, default_rules)
    golden = _one(result)
    assert (golden.first_name, golden.name_prefix, golden.last_name) == ("Jan", "van der", "Berg")
    assert (_lineage(result, "name").source, _lineage(result, "name").rule) == ("hubspot", "source_priority")


def test_source_priority_ties_within_a_source_go_to_the_newest(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2024-01-01", email="jan@example.nl", company="Oud BV"),
        contact("hubspot", "h2", "2024-02-01", email="jan@example.nl", company="Nieuw BV"),
    )
    assert _one(reconcile(frame, default_rules)).company == "Nieuw BV"


def test_lower_priority_source_fills_in_when_the_first_has_nothing(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl"),
        contact("hootsuite", "t1", email="jan@example.nl", first_name="Jan", last_name="Berg"),
    )
    golden = _one(reconcile(frame, default_rules))
    assert (golden.first_name, golden.last_name) == ("Jan", "Berg")


def test_source_not_listed_for_an_attribute_never_supplies_it(contacts, contact, default_rules) -> None:
    frame = contacts(contact("hootsuite", "t1", email="jan@example.nl", company="ACME"))
    assert _one(reconcile(frame, default_rules)).company is None


def test_valid_email_beats_invalid_from_a_higher_priority_record(contacts, contact) -> None:
    rules = load_rules()
    email_rule = AttributeRule("email", ("email",), "most_recent", ("hubspot", "hootsuite"), True)
    frame = contacts(
        contact("hubspot", "h1", "2024-05-01", social_network="twitter", social_handle="jan", email="jan@@example.nl"),
        contact("hootsuite", "t1", "2023-01-01", social_network="twitter", social_handle="jan", email="Jan@Example.nl"),
    )
    result = reconcile(frame, _with(rules, email=email_rule))
    assert _one(result).email == "jan@example.nl"
    assert _lineage(result, "email").rule == "valid_beats_invalid+most_recent"


def test_without_valid_beats_invalid_the_rule_alone_decides(contacts, contact) -> None:
    rules = load_rules()
    email_rule = AttributeRule("email", ("email",), "most_recent", ("hubspot", "hootsuite"), False)
    frame = contacts(
        contact("hubspot", "h1", "2024-05-01", social_network="twitter", social_handle="jan", email="jan@@example.nl"),
        contact("hootsuite", "t1", "2023-01-01", social_network="twitter", social_handle="jan", email="jan@example.nl"),
    )
    assert _one(reconcile(frame, _with(rules, email=email_rule))).email == "jan@@example.nl"


def test_golden_values_are_normalized_presentation_values(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact(
            "hubspot",
            "h1",
            email=" Jan@Example.NL ",
            phone="06 12345678",
            address_line="Kerkstraat 12-a",
            postcode="1234ab",
            city="Amsterdam",
            country="Netherlands",
        ),
        contact("hootsuite", "twitter:jan", email="jan@example.nl", social_network="twitter", social_handle="@Jan"),
    )
    golden = _one(reconcile(frame, default_rules))
    assert (golden.email, golden.phone, golden.postcode, golden.country) == (
        "jan@example.nl",
        "+31612345678",
        "1234 AB",
        "NL",
    )
    assert (golden.house_number_addition, golden.social_network, golden.social_handle) == ("A", "twitter", "jan")


def test_lineage_present_for_every_golden_attribute_group(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact(
            "hubspot",
            "h1",
            "2024-02-01",
            first_name="Jan",
            last_name="Berg",
            email="jan@example.nl",
            phone="0612345678",
            address_line="Kerkstraat 1",
            postcode="1234AB",
            city="Amsterdam",
            country="NL",
            company="ACME",
        ),
        contact("hootsuite", "t1", "2024-03-01", email="jan@example.nl", social_network="twitter", social_handle="jan"),
    )
    result = reconcile(frame, default_rules)
    lineage = result.lineage.set_index("attribute")
    assert sorted(lineage.index) == sorted(default_rules.attributes)
    assert lineage.loc["social", "source_id"] == "t1"
    assert lineage.loc["address", "rule"] == "most_recent"
    assert lineage.loc["email", "source_updated_at"] == pd.Timestamp("2024-02-01", tz="UTC")
    assert (lineage["golden_id"] == _one(result).golden_id).all()


def test_conflict_logged_when_records_disagree(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl", first_name="Jan", last_name="Berg"),
        contact("hootsuite", "t1", email="jan@example.nl", first_name="Jantje", last_name="Berg"),
    )
    result = reconcile(frame, default_rules)
    conflicts = result.conflicts
    assert len(conflicts) == 1
    row = conflicts.iloc[0]
    assert (row.attribute, row.chosen_source, row.other_source, row.rule) == (
        "name",
        "hubspot",
        "hootsuite",
        "source_priority",
    )
    assert row.chosen_value == "Jan |  | Berg" and row.other_value == "Jantje |  | Berg"
    assert result.stats["conflicts"] == 1


def test_formatting_differences_are_not_conflicts(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl", first_name="Zoë", last_name="van der Berg"),
        contact("hootsuite", "t1", email="JAN@example.nl", first_name="ZOE", last_name="Berg", name_prefix="Van der"),
    )
    assert reconcile(frame, default_rules).conflicts.empty


def test_deleted_record_does_not_supply_values(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2024-05-01", email="jan@example.nl", company="Weg BV", is_deleted=True),
        contact("hubspot", "h2", "2024-01-01", email="jan@example.nl", company="Blijft BV"),
    )
    golden = _one(reconcile(frame, default_rules))
    assert (golden.company, bool(golden.is_deleted)) == ("Blijft BV", False)
    assert golden.source_updated_at == pd.Timestamp("2024-05-01", tz="UTC")


def test_all_deleted_keeps_last_values_and_marks_golden_deleted(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2024-05-01", email="jan@example.nl", company="Weg BV", is_deleted=True),
        contact("hootsuite", "t1", "2024-01-01", email="jan@example.nl", is_deleted=True),
    )
    golden = _one(reconcile(frame, default_rules))
    assert (golden.company, bool(golden.is_deleted)) == ("Weg BV", True)


def test_golden_updated_at_is_the_newest_business_time_in_the_cluster(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2024-01-01", email="jan@example.nl"),
        contact("hootsuite", "t1", "2024-07-01", email="jan@example.nl"),
    )
    assert _one(reconcile(frame, default_rules)).source_updated_at == pd.Timestamp("2024-07-01", tz="UTC")


def test_lineage_is_ordered_by_golden_id_then_attribute(contacts, contact, default_rules) -> None:
    frame = contacts(
        *(contact("hubspot", f"h{i}", f"2024-01-0{i + 1}", email=f"p{i}@example.nl", city="Utrecht") for i in range(5))
    )
    lineage = reconcile(frame, default_rules).lineage
    keys = list(zip(lineage["golden_id"], lineage["attribute"], strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_golden_updated_at_keeps_the_input_time_zone_type(contacts, contact, default_rules) -> None:
    frame = contacts(contact("hubspot", "a", "2024-01-01", email="x@example.nl"), contact("erp", "b", "2024-03-01"))
    golden = reconcile(frame, default_rules).golden
    assert golden["source_updated_at"].dtype == frame["source_updated_at"].dtype
    assert sorted(golden["source_updated_at"]) == sorted(frame["source_updated_at"])
