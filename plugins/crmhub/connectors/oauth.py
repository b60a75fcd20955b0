"""OAuth2 access tokens for every OAuth vendor: fetched on demand, renewed on expiry or on a 401.

One :class:`TokenProvider` serves every OAuth source; a vendor plugin only says how its token endpoint
differs (its plug-ins):

- the grant (``grant``: the form fields, e.g. ``client_credentials`` with a ``scope``) and where the
  client credentials go (``client_auth``: ``"basic"`` — HTTP Basic — or ``"body"`` — the form body);
- a refresh token (``refresh_token``), tried before the grant, which stays the fallback. A vendor that
  rotates refresh tokens (Hootsuite: each refresh token works once and the token response carries the
  next one) would strand every later run on a used token: ``on_token_rotated`` hands each new refresh
  token to the caller, which stores it (``crmhub.orchestration.hooks`` keeps it in an Airflow Variable);
- expiry (``skew_seconds`` before ``expires_in``; ``default_lifetime`` when the response has none, or
  ``None`` for tokens that last until the vendor answers 401, as Salesforce sessions do);
- renewal on a 401 (``refresh_on_401``: the HTTP client asks for a fresh token once per request);
- the vendor's error formatter (``describe_error``: how a refusing token endpoint's body becomes a
  message; it must never quote secrets) and what else a token response must carry (``required``,
  ``on_token``: Salesforce's ``instance_url``); ``endpoint_label`` and ``refusal`` word the messages.

Every failure is a :class:`~crmhub.errors.SourceDataError` naming the source and the token endpoint,
also when the endpoint cannot be reached (``requests.RequestException``). Tokens live only in memory for
the task's lifetime and are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import requests

from crmhub.connectors.http import parse_json
from crmhub.errors import SourceDataError

log = logging.getLogger(__name__)

#: token endpoint answers that mean "this grant (or refresh token) is refused", not "the endpoint failed"
REFUSED = (400, 401, 403)


def oauth_error(response: requests.Response) -> str:
    """The standard OAuth2 error body (RFC 6749 §5.2) as ``HTTP 400: invalid_client: description``.

    Error codes and descriptions name the problem without secrets.
    """
    reason = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        reason = f": {body.get('error')}"
        if body.get("error_description"):
            reason += f": {body.get('error_description')}"
    return f"HTTP {response.status_code}{reason}"


class TokenProvider:
    """OAuth2 access tokens of one source, with the vendor's plug-ins (see the module docstring)."""

    def __init__(
        self,
        source_name: str,
        session: requests.Session,
        token_url: str,
        client_id: str,
        client_secret: str,
        grant: Mapping[str, Any],
        *,
        client_auth: Literal["basic", "body"] = "basic",
        refresh_token: str | None = None,
        on_token_rotated: Callable[[str], None] | None = None,
        skew_seconds: float = 30.0,
        default_lifetime: float | None = 3600.0,
        refresh_on_401: bool = True,
        describe_error: Callable[[requests.Response], str] = oauth_error,
        endpoint_label: str = "token endpoint",
        refusal: str = "token endpoint refused the configured grant",
        required: Sequence[str] = ("access_token",),
        on_token: Callable[[Mapping[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source_name = source_name
        self._session = session
        self._token_url = token_url
        self._client = (client_id, client_secret)
        self._client_auth = client_auth
        self._grant = dict(grant)
        self._clock = clock
        self._skew = skew_seconds
        self._default_lifetime = default_lifetime
        self._refresh_on_401 = refresh_on_401
        self._describe_error = describe_error
        self._what = f"{source_name}: POST {endpoint_label}"
        self._refusal = refusal
        self._required = tuple(required)
        self._on_token = on_token
        self._access: str | None = None
        self._refresh: str | None = refresh_token  # tried before the grant, which stays the fallback
        self._on_rotated = on_token_rotated
        #: the refresh token the caller already knows (configured or stored): not a rotation
        self._known_refresh = refresh_token or (grant.get("refresh_token") if grant else None)
        self._expires_at: float | None = 0.0
        self.tokens_issued = 0

    def token(self, force_refresh: bool = False) -> str:
        """A valid access token; ``force_refresh`` after a 401 even if the token looks valid."""
        if (force_refresh and self._refresh_on_401) or self._access is None or self._expired():
            self._renew()
        assert self._access is not None
        return self._access

    def header(self, force_refresh: bool = False) -> dict[str, str]:
        """The Authorization header (the HTTP client's ``auth_header``)."""
        return {"Authorization": f"Bearer {self.token(force_refresh)}"}

    def _expired(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at - self._skew

    def _renew(self) -> None:
        if self._refresh:
            refused = self._request({"grant_type": "refresh_token", "refresh_token": self._refresh})
            if refused is None:
                return
            log.info("%s: refresh token rejected; requesting a new grant", self.source_name)
        refused = self._request(self._grant)
        if refused is not None:
            raise SourceDataError(f"{self._what}: {self._refusal}, {refused}")

    def _request(self, form: Mapping[str, Any]) -> str | None:
        """Ask for a token; ``None`` when one was issued, else the vendor's reason for refusing."""
        data = dict(form)
        auth = None
        if self._client_auth == "basic":
            auth = self._client
        else:
            data.update(client_id=self._client[0], client_secret=self._client[1])
        try:
            # verify passed explicitly: requests lets REQUESTS_CA_BUNDLE override a session's own CA bundle
            response = self._session.post(
                self._token_url, data=data, auth=auth, timeout=30, verify=self._session.verify
            )
        except requests.RequestException as exc:
            raise SourceDataError(f"{self._what}: token endpoint unreachable ({type(exc).__name__})") from exc
        if response.status_code in REFUSED:
            return self._describe_error(response)
        if response.status_code != 200:
            raise SourceDataError(f"{self._what}: token endpoint answered {self._describe_error(response)}")
        body = parse_json(response, self._what)
        missing = [name for name in self._required if not isinstance(body, dict) or not body.get(name)]
        if missing:
            raise SourceDataError(f"{self._what}: token response lacks {' or '.join(missing)}")
        self._access = str(body["access_token"])
        if self._on_token is not None:
            self._on_token(body)
        rotated = body.get("refresh_token")
        if rotated:
            self._refresh = rotated
            if rotated != self._known_refresh:
                self._known_refresh = rotated
                self._report_rotation(rotated)
        lifetime = body.get("expires_in", self._default_lifetime)
        self._expires_at = None if lifetime is None else self._clock() + float(lifetime)
        self.tokens_issued += 1
        log.info("%s: access token issued (%d this run)", self.source_name, self.tokens_issued)
        return None

    def _report_rotation(self, refresh_token: str) -> None:
        if self._on_rotated is None:
            return
        try:
            self._on_rotated(refresh_token)
        except Exception as exc:  # noqa: BLE001 - the pull can go on; the next run may need a new grant
            log.error(
                "%s: the rotated refresh token could not be stored (%s); the next run may need a new grant",
                self.source_name,
                type(exc).__name__,
            )


#: the name this class had when only Hootsuite used it
OAuthTokenProvider = TokenProvider
