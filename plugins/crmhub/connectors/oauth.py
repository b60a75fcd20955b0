"""OAuth2 access tokens fetched on demand and renewed on expiry or on a 401.

Tokens live only in memory for the task's lifetime and are never logged. A vendor that rotates refresh
tokens (Hootsuite: each refresh token works once and the token response carries the next one) would
strand every later run on a used token: ``on_token_rotated`` hands each new refresh token to the
caller, which stores it (``crmhub.orchestration.hooks`` keeps it in an Airflow Variable) for the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from crmhub.connectors.http import parse_json
from crmhub.errors import SourceDataError

log = logging.getLogger(__name__)


class OAuthTokenProvider:
    """Client credentials in HTTP Basic, a configurable grant, refresh tokens used when we have one."""

    def __init__(
        self,
        source_name: str,
        session: requests.Session,
        token_url: str,
        client_id: str,
        client_secret: str,
        grant: Mapping[str, Any],
        *,
        clock: Callable[[], float] = time.monotonic,
        skew_seconds: float = 30.0,
        refresh_token: str | None = None,
        on_token_rotated: Callable[[str], None] | None = None,
    ) -> None:
        self.source_name = source_name
        self._session = session
        self._token_url = token_url
        self._basic = (client_id, client_secret)
        self._grant = dict(grant)
        self._clock = clock
        self._skew = skew_seconds
        self._access: str | None = None
        self._refresh: str | None = refresh_token  # tried before the grant, which stays the fallback
        self._on_rotated = on_token_rotated
        #: the refresh token the caller already knows (configured or stored): not a rotation
        self._known_refresh = refresh_token or (grant.get("refresh_token") if grant else None)
        self._expires_at = 0.0
        self.tokens_issued = 0

    def header(self, force_refresh: bool = False) -> dict[str, str]:
        """The Authorization header; ``force_refresh`` after a 401 even if the token looks valid."""
        if force_refresh or self._access is None or self._clock() >= self._expires_at - self._skew:
            self._renew()
        return {"Authorization": f"Bearer {self._access}"}

    def _renew(self) -> None:
        if self._refresh:
            if self._request({"grant_type": "refresh_token", "refresh_token": self._refresh}):
                return
            log.info("%s: refresh token rejected; requesting a new grant", self.source_name)
        if not self._request(self._grant):
            raise SourceDataError(f"{self.source_name}: token endpoint refused the configured grant")

    def _request(self, form: Mapping[str, Any]) -> bool:
        response = self._session.post(
            self._token_url, data=dict(form), auth=self._basic, timeout=30, verify=self._session.verify
        )
        if response.status_code in (400, 401, 403):
            return False
        if response.status_code != 200:
            raise SourceDataError(f"{self.source_name}: token endpoint answered HTTP {response.status_code}")
        body = parse_json(response, f"{self.source_name}: POST token endpoint")
        if not isinstance(body, dict) or "access_token" not in body:
            raise SourceDataError(f"{self.source_name}: token endpoint response has no access_token")
        self._access = body["access_token"]
        rotated = body.get("refresh_token")
        if rotated:
            self._refresh = rotated
            if rotated != self._known_refresh:
                self._known_refresh = rotated
                self._report_rotation(rotated)
        self._expires_at = self._clock() + float(body.get("expires_in", 3600))
        self.tokens_issued += 1
        return True

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
