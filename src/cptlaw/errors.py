"""Exceptions that mean "the user's input is wrong" (the CLI turns them into exit status 2)."""

from __future__ import annotations


class CptlawError(Exception):
    """Base class for errors caused by user input, not by a bug in cptlaw."""


class SpecError(CptlawError, ValueError):
    """A schedule spec (dict/YAML/JSON) is malformed: unknown kind or key, bad value."""


class DataError(CptlawError, ValueError):
    """A data file is malformed. ``problems`` lists each one as ``file:row: column: message``."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        if self.problems:
            shown = self.problems[:20]
            more = len(self.problems) - len(shown)
            message = message + "\n" + "\n".join("  " + p for p in shown)
            if more > 0:
                message += f"\n  ... and {more} more"
        super().__init__(message)


class FitFileError(CptlawError, ValueError):
    """A saved fit (JSON) cannot be read or does not match this law."""
