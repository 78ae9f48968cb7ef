"""The frozen byte-level BPE tokenizer and the token arrays the trainer samples from.

The tokenizer (``tokenizers`` library; vocabulary 4,096 by default) is trained once on the general corpus's
training split, saved beside the corpora with its sha256 in the manifest, and used for every corpus: domain
text then costs more tokens, as in real continual pre-training.  Token arrays are uint16 ``.npy`` files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import CptlawError
from ..io import atomic_path, atomic_write_text
from .corpora import cache_dir, sha256_file

EOT = "<|endoftext|>"


def corpora_root(root: str | Path | None = None) -> Path:
    return Path(root) if root else cache_dir() / "corpora"


def train_tokenizer(root: Path, vocab_size: int = 4096, source: str = "general") -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    path = root / f"tokenizer_{source}_{vocab_size}.json"
    if path.exists():
        return path
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([str(root / source / "train.txt")], trainer)
    with atomic_path(path, force=True) as tmp:
        tok.save(str(tmp))
    return path


def tokenize_corpus(root: Path, name: str, tokenizer_path: Path) -> dict:
    """Encode ``<name>/{train,val}.txt`` into ``<name>/{train,val}.<tokenizer-stem>.npy`` (documents joined by EOT)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    eot = tok.token_to_id(EOT)
    out = {}
    for split in ("train", "val"):
        target = root / name / f"{split}.{tokenizer_path.stem}.npy"
        if not target.exists():
            text = (root / name / f"{split}.txt").read_text(encoding="utf-8")
            docs = text.split("\n\n")
            ids = []
            for enc in tok.encode_batch(docs):
                ids.extend(enc.ids)
                ids.append(eot)
            with atomic_path(target, force=True) as tmp:
                np.save(tmp, np.asarray(ids, dtype=np.uint16))
        out[split] = {"path": str(target.relative_to(root)), "sha256": sha256_file(target),
                      "tokens": int(np.load(target, mmap_mode="r").shape[0])}
    return out


def prepare(names: list[str], root: str | Path | None = None, vocab_size: int = 4096) -> dict:
    """Tokenizer + token arrays for the named corpora; records their hashes in the manifest."""
    root = corpora_root(root)
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        raise CptlawError(f"no corpora at {root}: run 'cptlaw pilot corpora build' first")
    manifest = json.loads(manifest_path.read_text())
    missing = [n for n in names if n not in manifest.get("corpora", {})]
    if missing:
        raise CptlawError(f"corpora not built at {root}: {', '.join(missing)} (run 'cptlaw pilot corpora build')")
    tok_path = train_tokenizer(root, vocab_size)
    manifest["tokenizer"] = {"path": tok_path.name, "sha256": sha256_file(tok_path), "vocab_size": vocab_size,
                             "trained_on": "general/train.txt"}
    manifest.setdefault("tokens", {})
    for n in names:
        manifest["tokens"].setdefault(tok_path.stem, {})[n] = tokenize_corpus(root, n, tok_path)
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n", force=True)
    return manifest


def load_tokens(root: Path, name: str, split: str, vocab_size: int = 4096) -> np.ndarray:
    path = root / name / f"{split}.tokenizer_general_{vocab_size}.npy"
    if not path.exists():
        raise CptlawError(f"missing token file {path}; run 'cptlaw pilot corpora build'")
    return np.load(path, mmap_mode="r")
