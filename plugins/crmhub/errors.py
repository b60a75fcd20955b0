"""Exceptions shared by every stage, so callers can tell bad configuration from bad data."""

from __future__ import annotations


class CrmHubError(Exception):
    """Base class of the hub's own errors."""


class ConfigError(CrmHubError):
    """A configuration file is wrong; the message names the file, the key and what is wrong."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = str(file), key, reason
        super().__init__(f"{file}: {key}: {reason}")


class SourceDataError(CrmHubError):
    """A source returned data we cannot use; names source, endpoint/record and what is wrong."""


class QualityGateFailed(CrmHubError):
    """A blocking expectation failed; the load must not run."""
