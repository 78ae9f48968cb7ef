"""Files: every file cptlaw writes goes through here (atomic replacement, a temporary file beside the target
then a rename, and no overwrite of an existing file unless ``force``); and every text file a person gives
cptlaw is read here (any encoding :func:`decode` tells, JSON, and strict, bounded YAML: :func:`load_yaml`)."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml
from charset_normalizer import from_bytes

from .errors import SpecError
from .limits import MAX_NESTING, MAX_YAML_NODES, hint


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


def decode(raw: bytes) -> tuple[str, str]:
    """Text a person or a tool wrote, and its encoding: the one a byte-order mark names (UTF-8, UTF-16, UTF-32);
    else UTF-8; else the most likely by ``charset_normalizer``, where a single-byte guess is read as
    Windows-1252 when that decodes (mostly-ASCII text cannot tell single-byte code pages apart: a Latin-1 name
    scores as HP Roman-8 as well).  UnicodeDecodeError when nothing fits."""
    encoding = next((enc for bom, enc in BOMS if raw.startswith(bom)), None)
    if encoding is not None:
        return raw.decode(encoding), encoding
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        best = from_bytes(raw).best()
        if best is None:
            raise exc from None
        encoding = best.encoding
        if len(bytes(range(256)).decode(encoding, errors="replace")) == 256:  # a single-byte code page
            try:
                return raw.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                pass
        return raw.decode(encoding), encoding


def read_text(path: str | Path, error: type[Exception], what: str = "text", shown: str | None = None) -> str:
    """A text file a person wrote, in any encoding :func:`decode` tells; a file that cannot be read or
    decoded is ``error`` naming the file (as ``shown``, e.g. the option that gave it; default its path)."""
    shown, path = shown or str(path), Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{shown}: cannot read: {exc.strerror or exc}") from None
    try:
        return decode(raw)[0]
    except UnicodeDecodeError:
        raise error(f"{shown}: not text in any encoding cptlaw can tell (expected {what}); save it as UTF-8") from None


def read_json(path: str | Path, error: type[Exception], what: str = "valid JSON", shown: str | None = None) -> Any:
    """The JSON value in ``path`` (UTF-8, a byte-order mark allowed); any failure is ``error`` naming the file,
    and for a syntax error its line and column.  Nesting deeper than Python's recursion limit (about 1000
    levels, far beyond any real file) is refused instead of overflowing the stack."""
    shown = shown or str(path)
    text = read_text(path, error, what, shown)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{shown}:{exc.lineno}:{exc.colno}: not {what}: {exc.msg}") from None
    except RecursionError:
        raise error(f"{shown}: nested too deeply for {what}") from None


# ---- YAML (and JSON) that a person wrote: strict and bounded ----

class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a mapping key must be a plain value, got a {type(key).__name__}",
                    key_node.start_mark) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (also on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node, memo: dict, open_: set) -> int:
    """Nodes of a composed YAML document with every alias expanded, counted in time linear in the distinct
    nodes (an alias is the same node object, counted once per use from the memo).  A "billion laughs" document
    is a few hundred bytes whose expansion has 10^9 nodes: it is refused from this count, before anything is
    built or walked."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in open_:
        raise SpecError("a YAML alias refers to a node that contains it (a recursive document)")
    open_.add(key)
    if isinstance(node, yaml.SequenceNode):
        n = 1 + sum(_expanded_size(v, memo, open_) for v in node.value)
    elif isinstance(node, yaml.MappingNode):
        n = 1 + sum(_expanded_size(k, memo, open_) + _expanded_size(v, memo, open_) for k, v in node.value)
    else:
        n = 1
    open_.discard(key)
    memo[key] = n
    return n


def _depth(obj, limit: int, level: int = 0) -> int:
    if level > limit:
        return level
    if isinstance(obj, dict):
        return max([_depth(v, limit, level + 1) for v in obj.values()] or [level])
    if isinstance(obj, list):
        return max([_depth(v, limit, level + 1) for v in obj] or [level])
    return level


def load_yaml(path: str | Path, text: str | None = None) -> Any:
    """``yaml`` safe loading (YAML or JSON) with duplicate keys refused and nesting bounded; SpecError naming
    the file otherwise."""
    path = Path(path)
    if text is None:
        text = read_text(path, SpecError, "YAML or JSON")
    loader = None
    try:
        loader = StrictLoader(text)  # a SafeLoader subclass: plain data only (it reads the text's first bytes)
        node = loader.get_single_node()
        if node is not None:
            try:
                size = _expanded_size(node, {}, set())
            except SpecError as exc:
                raise SpecError(f"{path}: {exc}") from None
            if size > MAX_YAML_NODES:
                raise SpecError(f"{path}: the document expands to {size:,} values once its aliases (*name) are "
                                f"resolved, more than {MAX_YAML_NODES:,} ({hint('MAX_YAML_NODES')})")
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML/JSON: {exc}") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if _depth(data, 4 * MAX_NESTING) > 4 * MAX_NESTING:
        raise SpecError(f"{path}: nested too deeply (more than {4 * MAX_NESTING} levels)")
    return data
