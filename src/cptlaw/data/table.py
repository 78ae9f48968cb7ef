"""Tabular files (CSV, JSONL, Parquet) as named columns, read by well-kept libraries.

A file may be compressed (``.gz``, ``.bz2``, ``.zst``, ``.lz4``, ``.br`` through pyarrow's codecs, ``.xz``
through :mod:`lzma`; the format is the suffix before: ``log.csv.gz`` is a CSV) and, for CSV and JSONL, in any
text encoding: UTF-8 is read as it is; a byte-order mark (UTF-8, UTF-16, UTF-32) says the encoding; other
bytes in the encoding :func:`cptlaw.io.decode` tells (one decoder for every text file a person gives cptlaw).

CSV and Parquet are read with pyarrow (a core dependency): columns come back typed and in C, so a 2-million-row
log reads in well under a second.  JSONL is read line by line with :mod:`json`, so a malformed line or a key
given twice in one object is reported with its line number.  Numeric columns are converted by
:func:`numeric`, which reports every bad cell by row.

Row numbers are those of the file: for CSV and JSONL the header (CSV) is row 1 and data record i (from 0) is
row i + 2 (CSV) or its line number (JSONL); for Parquet, the 1-based record number.
"""

from __future__ import annotations

import codecs
import csv
import json
import lzma
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError
from ..io import BOMS, decode


@dataclass
class Table:
    path: Path
    columns: list[str]
    data: dict[str, pa.ChunkedArray | np.ndarray]  # arrow columns (CSV, Parquet) or object arrays (JSONL)
    rows: np.ndarray  # file row number of each record

    @property
    def n(self) -> int:
        return int(self.rows.size)

    def pop(self, column: str):
        """Hand over a column and drop it here; Arrow's pool returns the memory it no longer uses, so the table
        and the numpy arrays made from it do not reach their peak together."""
        col = self.data.pop(column)
        pa.default_memory_pool().release_unused()
        return col


MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))
BY_SUFFIX = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".lz4": "lz4", ".br": "brotli"}
COMPRESSIONS = tuple(BY_SUFFIX)


def format_suffix(path: str | Path) -> str:
    """The suffix that names a file's format, under any compression suffix: ``a.csv.gz`` -> ``.csv``."""
    path = Path(path)
    if path.suffix.lower() in COMPRESSIONS:
        path = path.with_suffix("")
    return path.suffix.lower()


def compression(path: Path) -> str | None:
    """The codec of a compressed file, by its suffix or else by its first bytes (a gzip file named .csv)."""
    codec = BY_SUFFIX.get(path.suffix.lower())
    if codec is None and path.is_file():
        with path.open("rb") as f:
            head = f.read(6)
        codec = next((c for magic, c in MAGIC if head.startswith(magic)), None)
    return codec


def _read(path: Path, size: int = -1) -> bytes:
    """The file's bytes (the first ``size``, or all), decompressed."""
    codec = compression(path)
    try:
        if codec == "xz":
            with lzma.open(path) as f:
                return f.read(size)
        if codec is not None:
            with pa.input_stream(str(path), compression=codec) as f:
                return f.read() if size < 0 else f.read(size)
        with path.open("rb") as f:
            return f.read(size)
    except (lzma.LZMAError, EOFError, pa.ArrowException) as exc:
        raise DataError(f"{path}: cannot decompress: {exc}") from None


def _plain(path: Path) -> bool:
    """Whether the file's bytes can be read as they are (UTF-8, maybe with its BOM): not compressed, no UTF-16 or
    UTF-32 byte-order mark.  Only its first bytes are read; whether it really is UTF-8 shows when it is parsed."""
    if compression(path) is not None:
        return False
    with path.open("rb") as f:
        head = f.read(4)
    return not any(head.startswith(bom) for bom, enc in BOMS if enc != "utf-8-sig")


def _text(path: Path) -> str:
    """The whole file, decompressed and decoded (:func:`cptlaw.io.decode`): the path for files that are not
    plain UTF-8, so a plain file is never decoded twice."""
    try:
        return decode(_read(path))[0]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not text in any encoding cptlaw can tell; save it as UTF-8") from None


def _head(path: Path, size: int = 1 << 20) -> str:
    """The file's first lines (at most ``size`` bytes, decompressed), decoded: enough to read a header or the
    first record without decoding a large file."""
    raw = _read(path, size)
    encoding = next((enc for bom, enc in BOMS if raw.startswith(bom)), "utf-8")
    try:  # (an incremental decoder: a character cut in two at the end of the prefix waits, it is no error)
        text = codecs.getincrementaldecoder(encoding)().decode(raw, final=len(raw) < size)
    except UnicodeDecodeError:
        text = decode(raw)[0]  # a single-byte code page: no character is cut in two
    if len(raw) == size and "\n" in text:
        text = text[:text.rfind("\n") + 1]  # whole lines only
    return text.lstrip("\ufeff")


def _csv_header(path: Path, data: bytes | None = None) -> list[str]:
    if data is None:
        with path.open("r", encoding="utf-8-sig", newline="") as f:
            line = f.readline()
    else:
        line = data[:data.find(b"\n") + 1 or len(data)].decode("utf-8-sig")
    try:
        return [c.strip() for c in next(csv.reader([line]), [])]
    except csv.Error as exc:
        raise DataError(f"{path}:1: cannot parse the header: {exc}") from None


def header(path: str | Path) -> list[str]:
    """The column names only (cheap for any size)."""
    path = Path(path)
    suffix = format_suffix(path)
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            if compression(path) is not None:
                return list(pq.read_schema(pa.BufferReader(_read(path))).names)
            return list(pq.read_schema(path).names)
        lines = _head(path).splitlines()
        if suffix in (".jsonl", ".ndjson", ".json"):
            for line in lines:
                if line.strip():
                    rec = json.loads(line)
                    return list(rec) if isinstance(rec, dict) else []
            return []
        return [c.strip() for c in next(csv.reader(lines[:1]), [])]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, csv.Error, lzma.LZMAError, EOFError,
            pa.ArrowException):
        return []


def _duplicates(path: Path, columns: list[str]) -> None:
    seen: dict[str, int] = {}
    problems = []
    for i, c in enumerate(columns, start=1):
        if c in seen:
            problems.append(f"{path}:1: {c}: column given twice (columns {seen[c]} and {i})")
        seen.setdefault(c, i)
    if problems:
        raise DataError(f"{path}: duplicated column name(s); which copy is meant is ambiguous", problems)


def read_table(path: str | Path, text_columns: tuple[str, ...] = ("run", "phase")) -> Table:
    """Read a CSV, JSONL or Parquet file; :class:`DataError` naming the file (and row) when it cannot be read."""
    path = Path(path)
    suffix = format_suffix(path)
    try:
        if suffix == ".parquet":
            return _parquet(path)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return _jsonl(path)
        return _csv(path, text_columns)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text (expected CSV, JSONL or Parquet)") from None


def _csv(path: Path, text_columns) -> Table:
    import pyarrow.csv as pacsv

    data = None if _plain(path) else _text(path).encode("utf-8")
    try:
        columns = _csv_header(path, data)
    except UnicodeDecodeError:  # not UTF-8: decoded once, whole
        data = _text(path).encode("utf-8")
        columns = _csv_header(path, data)
    if not columns or columns == [""]:
        return Table(path, [], {}, np.zeros(0, np.int64))
    _duplicates(path, columns)
    read = pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=1 << 24)
    parse = pacsv.ParseOptions(newlines_in_values=False)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in text_columns if c in columns},
                                   null_values=[""],  # 'nan' is a value (refused), not a blank
                                   strings_can_be_null=True, quoted_strings_can_be_null=True)

    def parsed(source):
        return pacsv.read_csv(source, read_options=read, parse_options=parse, convert_options=convert)

    try:
        try:
            table = parsed(path if data is None else pa.BufferReader(data))
        except pa.ArrowInvalid as exc:
            if data is not None or "utf8" not in str(exc).lower():
                raise
            data = _text(path).encode("utf-8")  # not UTF-8 past its header: decoded once, whole
            table = parsed(pa.BufferReader(data))
    except pa.ArrowInvalid as exc:
        raise DataError(f"{path}: not a well-formed CSV file: {_arrow_message(exc)}") from None
    return Table(path, columns, {c: table.column(c) for c in columns}, np.arange(table.num_rows, dtype=np.int64) + 2)


def _arrow_message(exc: Exception) -> str:
    """pyarrow's message, with its row number made the file's (pyarrow counts data rows from 1, after the
    header it was told to skip: file row = its row + 1)."""
    msg = str(exc).strip().splitlines()[0]
    return re.sub(r"[Rr]ow #(\d+)", lambda m: f"row {int(m.group(1)) + 1}", msg)


def _parquet(path: Path) -> Table:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(_read(path)) if compression(path) is not None else path)
    except pa.ArrowException as exc:
        raise DataError(f"{path}: cannot read as Parquet: {exc}") from None
    _duplicates(path, list(table.column_names))
    return Table(path, list(table.column_names), {c: table.column(c) for c in table.column_names},
                 np.arange(table.num_rows, dtype=np.int64) + 1)


def _jsonl(path: Path) -> Table:
    text = None
    if _plain(path):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            pass
    text = _text(path) if text is None else text
    problems, records, rows, columns = [], [], [], {}

    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise ValueError(f"key {k!r} given twice")
            obj[k] = v
        return obj

    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line, object_pairs_hook=pairs)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{lineno}: not valid JSON: {exc.msg}")
            continue
        except ValueError as exc:
            problems.append(f"{path}:{lineno}: {exc}")
            continue
        except RecursionError:
            problems.append(f"{path}:{lineno}: nested too deeply")
            continue
        if not isinstance(rec, dict):
            problems.append(f"{path}:{lineno}: each line must be a JSON object")
            continue
        columns.update(dict.fromkeys(rec))
        records.append(rec)
        rows.append(lineno)
    if problems:
        raise DataError(f"{path}: malformed JSONL", problems)
    data = {}
    for c in columns:
        col = np.empty(len(records), dtype=object)
        col[:] = [r.get(c) for r in records]
        data[c] = col
    return Table(path, list(columns), data, np.asarray(rows, dtype=np.int64))


def _pylist(col) -> list:
    return col.to_pylist() if isinstance(col, (pa.ChunkedArray, pa.Array)) else list(col)


def numeric(col, allow_bool: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(values, bad): float64 values with NaN for empty cells, and a mask of the cells that are not numbers
    (text that does not parse; booleans).  A NaN written in the file is a value, not an empty cell: it comes
    back as +inf, so that every "must be finite" check refuses it.  Fast for typed arrow columns; cell by cell
    only for text."""
    if isinstance(col, (pa.ChunkedArray, pa.Array)):
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t):
            # (an integer beyond 2^53 has no exact float64: cast it unchecked, it is far out of every range)
            f = pc.cast(col, pa.float64(), safe=False)
            f = pc.if_else(pc.and_(pc.is_valid(f), pc.is_nan(f)), np.inf, f) if pa.types.is_floating(t) else f
            values = f.to_numpy(zero_copy_only=False)
            return np.asarray(values, dtype=np.float64), np.zeros(len(values), bool)
    cells = _pylist(col)
    values = np.full(len(cells), np.nan)
    bad = np.zeros(len(cells), bool)
    for i, v in enumerate(cells):
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if isinstance(v, bool) and not allow_bool:
            bad[i] = True
            continue
        try:
            x = float(v.strip() if isinstance(v, str) else v)
        except (TypeError, ValueError):
            bad[i] = True
            continue
        values[i] = np.inf if x != x else x  # a written NaN is a (non-finite) value
    return values, bad


def text(col) -> np.ndarray:
    """An object array of stripped strings, None for empty cells."""
    if isinstance(col, (pa.ChunkedArray, pa.Array)):
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = pc.cast(col, pa.string())
        col = pc.utf8_trim_whitespace(col)
        arr = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
    else:
        arr = np.array([None if v is None else str(v).strip() for v in col], dtype=object)
    arr[arr == ""] = None
    return arr


def categories(col, lower: bool = False) -> tuple[np.ndarray, list[str]]:
    """(codes, labels): per cell the index of its stripped text in ``labels`` (in order of first appearance),
    -1 for an empty cell.  Arrow's dictionary encoding for arrow columns: no Python object per row."""
    if isinstance(col, (pa.ChunkedArray, pa.Array)):
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = pc.cast(col, pa.string())
        col = pc.utf8_trim_whitespace(col)
        if lower:
            col = pc.utf8_lower(col)
        col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        enc = pc.dictionary_encode(col).combine_chunks()
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, enc.dictionary.to_pylist()
    labels: dict[str, int] = {}
    codes = np.empty(len(col), np.int64)
    for i, v in enumerate(col):
        v = None if v is None else str(v).strip()
        v = v.lower() if lower and v else v
        codes[i] = -1 if not v else labels.setdefault(v, len(labels))
    return codes, list(labels)


def cell(col, i: int):
    """The raw cell i, for messages."""
    if isinstance(col, (pa.ChunkedArray, pa.Array)):
        return col[i].as_py()
    return col[i]
