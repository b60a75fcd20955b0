"""The one OAuth token provider (issue 13): its plug-ins, without a network."""

from __future__ import annotations

import pytest
import requests

from crmhub.connectors.oauth import TokenProvider
from crmhub.errors import SourceDataError


class FakeSession(requests.Session):
    """Answers token requests from a list and records what was sent."""

    def __init__(self, *answers: tuple[int, dict] | Exception) -> None:
        super().__init__()
        self.answers, self.sent = list(answers), []

    def post(self, url, data=None, auth=None, **kwargs):  # type: ignore[override]
        self.sent.append({"url": url, "data": dict(data or {}), "auth": auth})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        response = requests.Response()
        response.status_code, response._content = answer[0], __import__("json").dumps(answer[1]).encode()
        response.headers["Content-Type"] = "application/json"
        return response


def provider(session: FakeSession, **kwargs) -> TokenProvider:
    return TokenProvider("vendor", session, "https://id.example/token", "app", "s3cret", {"grant_type": "x"}, **kwargs)


def test_an_unreachable_token_endpoint_is_a_source_error_naming_the_source():
    tokens = provider(FakeSession(requests.ConnectionError("refused")))
    with pytest.raises(
        SourceDataError, match=r"^vendor: POST token endpoint: token endpoint unreachable \(ConnectionError\)"
    ):
        tokens.header()


def test_client_credentials_go_in_basic_or_in_the_body():
    basic = FakeSession((200, {"access_token": "a"}))
    provider(basic).header()
    assert basic.sent[0]["auth"] == ("app", "s3cret") and "client_secret" not in basic.sent[0]["data"]
    body = FakeSession((200, {"access_token": "a"}))
    provider(body, client_auth="body").header()
    assert body.sent[0]["auth"] is None and body.sent[0]["data"]["client_secret"] == "s3cret"


def test_expiry_skew_and_401_renewal():
    now = [0.0]
    session = FakeSession(*[(200, {"access_token": f"t{i}", "expires_in": 100}) for i in range(4)])
    tokens = provider(session, skew_seconds=10, clock=lambda: now[0])
    assert tokens.token() == "t0"
    now[0] = 89.0
    assert tokens.token() == "t0"
    now[0] = 90.0  # within the skew of expiry
    assert tokens.token() == "t1"
    assert tokens.token(force_refresh=True) == "t2" and tokens.tokens_issued == 3


def test_tokens_without_expiry_are_renewed_only_after_a_401():
    session = FakeSession((200, {"access_token": "a"}), (200, {"access_token": "b"}))
    tokens = provider(session, default_lifetime=None, clock=lambda: 1e12)
    assert tokens.token() == "a" and tokens.token() == "a" and tokens.token(True) == "b"


def test_the_vendor_error_formatter_words_a_refusal_without_the_secret():
    session = FakeSession((401, {"error": "invalid_client", "error_description": "bad"}))
    tokens = provider(session, describe_error=lambda r: f"HTTP {r.status_code} custom")
    with pytest.raises(SourceDataError) as raised:
        tokens.header()
    assert (
        str(raised.value) == "vendor: POST token endpoint: token endpoint refused the configured grant, HTTP 401 custom"
    )
    assert "s3cret" not in str(raised.value)


def test_a_rotated_refresh_token_is_handed_to_the_callback_once():
    rotated: list[str] = []
    session = FakeSession(
        (200, {"access_token": "a", "refresh_token": "r2"}), (200, {"access_token": "b", "refresh_token": "r2"})
    )
    tokens = provider(session, refresh_token="r1", on_token_rotated=rotated.append)
    tokens.header()
    tokens.header(True)
    assert rotated == ["r2"] and session.sent[0]["data"] == {"grant_type": "refresh_token", "refresh_token": "r1"}
