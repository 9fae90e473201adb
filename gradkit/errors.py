"""Errors that are the user's to fix (bad config, bad data): the CLI prints their
message without a traceback and exits with status 2."""

from __future__ import annotations

__all__ = ["UserError", "ConfigError", "DataError"]


class UserError(Exception):
    """A mistake in what the user asked for; the message says what to do."""


class ConfigError(UserError, ValueError):
    """A config value that cannot work (an unknown option, a model that does not fit)."""


class DataError(UserError, ValueError):
    """Data that cannot be trained on; the message names the file, row or column."""
