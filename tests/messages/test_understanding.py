"""Message understanding: one behaviour per test, on hand-written sentences that are in neither the
evaluation set nor the development set."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crmhub.messages import INTENTS, classify, classify_frame, normalize


def test_sarcasm_positive_word_with_negative_fact_and_eye_roll_is_a_complaint():
    result = classify("Fantastisch @Telvaro, weer geen tv vanavond 🙄")
    assert result.intent == "complaint" and result.complaint and result.sentiment == "negative"
    assert any(rule.startswith("sarcasm:") for rule in result.explanation["intent"]["rules"])


def test_negated_negative_word_is_not_a_complaint():
    result = classify("Ik ben helemaal niet ontevreden over de nieuwe router")
    assert not result.complaint
    assert result.sentiment == "positive"
    assert "negation:negative" in result.explanation["intent"]["rules"]


def test_negated_positive_word_is_a_complaint():
    result = classify("Eerlijk gezegd ben ik niet tevreden over de monteur")
    assert result.intent == "complaint"


def test_not_a_complaint_but_a_question_is_a_service_question():
    result = classify("Geen klacht hoor, maar hoe zet ik de wifi 's nachts uit?")
    assert result.intent == "service_question" and not result.complaint


def test_a_why_question_about_waiting_is_a_complaint():
    result = classify("Waarom moet ik al 2 weken wachten op mijn nieuwe modem??")
    assert result.intent == "complaint" and result.complaint


def test_praise_containing_a_problem_word_is_praise():
    result = classify("Geen enkel probleem gehad bij de installatie, top!")
    assert result.intent == "praise" and not result.complaint and result.sentiment == "positive"


def test_problem_that_was_solved_is_praise():
    result = classify("Had een probleem met mijn factuur, binnen een dag opgelost. Fijn!")
    assert result.intent == "praise"


def test_mixed_dutch_english_complaint():
    result = classify("Mijn tv werkt niet sinds gisteren, can someone please help?")
    assert result.intent == "complaint"
    assert result.language in {"mixed", "nl"}


def test_competitor_complaint_with_switching_is_a_sales_lead_not_our_complaint():
    result = classify("@Fibrix is echt slecht, ik wil overstappen naar jullie")
    assert result.intent == "sales_lead" and not result.complaint
    assert "competitor:switching" in result.explanation["intent"]["rules"]


def test_competitor_complaint_without_switching_is_other():
    result = classify("Netzo heeft vandaag weer een storing, kapot ding")
    assert result.intent == "other" and not result.complaint


def test_brand_echo_is_other():
    assert classify("RT @Telvaro: vanaf vandaag nieuwe bundels met meer data").intent == "other"


def test_spam_and_job_post_are_other():
    assert classify("Klik hier en win een gratis tablet!!! 🎁").intent == "other"
    assert classify("Vacature: monteur gezocht in Groningen, solliciteer via de site").intent == "other"


def test_persian_with_arabic_letter_variants_and_zwnj_is_persian():
    text = "سلام، اينترنت من قطع شده و كسي جواب نمي\u200cده"  # Arabic yeh (U+064A) and kaf (U+0643), ZWNJ
    assert "\u064a" in text and "\u0643" in text
    result = classify(text)
    assert result.language == "fa" and result.intent == "complaint"
    assert result.explanation["language"]["rule"] == "script:arabic"


def test_persian_letter_variants_normalize_to_the_same_text():
    assert normalize("كيفيت خيلي بد") == normalize("کیفیت خیلی بد")
    assert normalize("می\u200cخواهم") == normalize("میخواهم") == normalize("می خواهم")


def test_finglish_is_persian():
    result = classify("salam, internetam az dirooz ghat shode, kheili bade")
    assert result.language == "fa" and result.explanation["language"]["script"] == "latin"
    assert result.intent == "complaint"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hoe kan ik mijn abonnement wijzigen?", "nl"),
        ("How can I change my plan please?", "en"),
        ("Wie kann ich meinen Tarif ändern?", "de"),
        ("چطور می‌تونم طرحم رو عوض کنم؟", "fa"),
        ("👍👍", "und"),
    ],
)
def test_language_detection(text, language):
    assert classify(text).language == language


def test_given_language_is_used_and_recorded():
    result = classify("ok", lang="de")
    assert result.language == "de" and result.explanation["language"]["rule"] == "given"


def test_vendor_tag_votes_for_its_intent():
    assert classify("Bel me even terug aub").intent != "complaint"
    result = classify("Bel me even terug aub", tags=["klacht"])
    assert result.intent == "complaint" and "tag:complaint" in result.explanation["intent"]["rules"]


def test_crm_open_deal_is_evidence_for_a_lead():
    result = classify("Kunnen jullie me terugbellen?", open_deal=True)
    assert "crm:open_deal" in result.explanation["intent"]["rules"]
    assert result.explanation["intent"]["scores"]["sales_lead"] > 0


def test_explanation_holds_evidence_but_never_the_text():
    text = "Waarom is mijn rekening van Pietersen Bakkerij alweer te hoog??"
    result = classify(text)
    dumped = json.dumps(result.explanation, ensure_ascii=False)
    for word in ("Pietersen", "Bakkerij", "rekening"):
        assert word.lower() not in dumped.lower()
    assert result.explanation["model"] and result.explanation["intent"]["scores"]
    assert set(result.explanation["intent"]["scores"]) == set(INTENTS)


def test_classify_frame_keeps_every_row_and_index():
    df = pd.DataFrame(
        {
            "source": ["sprout", "hootsuite", "sprout"],
            "text": ["Storing in Delft, al de hele ochtend geen internet", None, "Top geholpen, dank!"],
            "channel": ["twitter", "facebook", "instagram"],
            "tags": [["klacht"], None, []],
        },
        index=[10, 11, 12],
    )
    out = classify_frame(df)
    assert list(out.index) == [10, 11, 12]
    assert list(out["intent"]) == ["complaint", "other", "praise"]
    assert out.loc[11, "explanation"]["error"] == "no text"
    assert out.loc[10, "explanation"]["network"] == "twitter"


def test_text_must_be_a_string():
    with pytest.raises(TypeError):
        classify(None)  # type: ignore[arg-type]


def test_negation_stops_at_a_comma():
    result = classify("Geen gedoe met de monteur, gewoon top geholpen")
    assert not result.complaint and result.intent == "praise"


def test_persian_negator_does_not_reach_past_the_comma():
    result = classify("هیچ مشکلی نداشتم، عالیه")
    assert not result.complaint and result.sentiment == "positive"


def test_thanks_followed_by_so_much_for_is_thanks_not_sarcasm():
    result = classify("Thanks so much for the quick help today")
    assert result.intent == "praise" and not result.complaint
    assert not any(rule.startswith("sarcasm:") for rule in result.explanation["intent"]["rules"])
