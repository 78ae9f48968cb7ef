"""Writing files without losing the user's: atomic replacement (a temporary file beside the target, then a
rename), and no overwrite of an existing file unless ``force``.  Every file cptlaw writes goes through here."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def default_file_mode() -> int:
    """0666 minus the process umask: the mode ``open()`` would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def refuse_existing(path: str | Path, force: bool, hint: str = "use --force (or force=True in Python)") -> None:
    """Raise :class:`FileExistsError` if ``path`` exists and ``force`` is not set."""
    if Path(path).exists() and not force:
        raise FileExistsError(f"{path} exists; {hint} to overwrite it")


@contextmanager
def atomic_path(path: str | Path, force: bool = False, suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on success it replaces ``path`` (with the usual file
    mode), on any error it is removed and ``path`` is untouched.  ``suffix`` keeps writers that choose their
    format by extension (matplotlib, ``np.save``) on the right one (default: the target's)."""
    path = Path(path)
    refuse_existing(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix,
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, default_file_mode())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | Path, text: str, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines as given); refuse to overwrite unless ``force``."""
    with atomic_path(path, force, suffix=".tmp") as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return Path(path)


BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))  # (UTF-32 LE starts like UTF-16 LE: tried first)


def read_text(path: str | Path, error: type[Exception], what: str = "text") -> str:
    """A text file a person wrote: UTF-8, or any encoding its byte-order mark names (UTF-8, UTF-16, UTF-32, as
    Windows editors save).  A file that cannot be read, or other bytes, are ``error`` naming the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    encoding = next((enc for bom, enc in BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text (expected {what})") from None


def read_json(path: str | Path, error: type[Exception], what: str = "valid JSON") -> Any:
    """The JSON value in ``path`` (UTF-8, a byte-order mark allowed); any failure is ``error`` naming the file,
    and for a syntax error its line and column.  Nesting deeper than Python's recursion limit (about 1000
    levels, far beyond any real file) is refused instead of overflowing the stack."""
    path = Path(path)
    text = read_text(path, error, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}:{exc.colno}: not {what}: {exc.msg}") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply for {what}") from None
