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


def validation_message(exc, limit: int = 3) -> str:
    """A pydantic ``ValidationError`` as short ``field.path: message`` items (its own text carries the input
    repeated and a documentation link, which help no user)."""
    items = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        items.append(f"{loc}: {msg}" if loc else msg)
    more = len(exc.errors()) - limit
    return "; ".join(items) + (f"; and {more} more" if more > 0 else "")
