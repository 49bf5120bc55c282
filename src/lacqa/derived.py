"""What a generation derives from its text — BM25 over its chunks, the terms of each sentence, the words of the
library, the abbreviations it defines — computed once at index time and stored in the generation beside its
vectors (listed in the manifest, hash-checked on open), so no question pays for them.

Stored tables are tagged with a hash of the code that makes them. A generation written by an older lacqa, or
by other tokenizing code, derives them on first use instead (what every question paid before): never wrong,
only slower once.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import aliases as _aliases_module
from . import lexical as _lexical_module
from . import places as _places_module
from . import text as _text_module
from .aliases import Aliases, find_abbreviations, library_capitals
from .text import terms, words

FOLDER = "derived"
DESCRIPTION = "derived.json"


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """Hash of the code whose output is stored: tokenizing, stemming, stop words, BM25, alias finding."""
    h = hashlib.sha256()
    for module in (_text_module, _aliases_module, _lexical_module, _places_module):
        h.update(Path(module.__file__).read_bytes())  # type: ignore[arg-type]
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def sentence_terms(text: str, library_aliases: Aliases) -> frozenset[str]:
    """The terms a sentence is matched on: its own, plus those of the forms the library uses for what it says
    ("LAC" also counts as "Latin America")."""
    return frozenset(terms(text)) | library_aliases.extra_terms(text)


def write(folder: Path, doc_texts: Sequence[str], chunk_texts: Sequence[str], sentence_texts: Sequence[str],
          builtin_aliases: dict[str, str]) -> list[str]:
    """Write the derived tables of a generation under ``folder/derived``; returns the file names written
    (relative to ``folder``) for the manifest's hash list."""
    from .lexical import LexicalIndex

    out = folder / FOLDER
    out.mkdir()
    LexicalIndex(chunk_texts).save(out / "bm25")
    table: dict[str, set[str]] = {}
    for t in doc_texts:
        for short, found in find_abbreviations(t).items():
            table.setdefault(short, set()).update(found)
    found_table = {k: sorted(v) for k, v in sorted(table.items())}
    capitals = sorted(library_capitals(doc_texts))
    library_aliases = Aliases.from_found(found_table, capitals, builtin_aliases)
    vocab, indptr, indices = _sparse([sentence_terms(text, library_aliases) for text in sentence_texts])
    library_words = sorted({w for t in doc_texts for w in words(t)})
    np.savez(out / "terms.npz", vocab=np.array(vocab, dtype=str), indptr=indptr, indices=indices,
             words=np.array(library_words, dtype=str))
    (out / "aliases.json").write_text(json.dumps({"table": found_table, "capitals": capitals}), encoding="utf-8")
    (out / DESCRIPTION).write_text(json.dumps({"code": code_hash(), "sentences": len(sentence_texts),
                                               "chunks": len(chunk_texts)}), encoding="utf-8")
    return sorted(str(p.relative_to(folder)) for p in out.rglob("*") if p.is_file())


def _description(folder: Path) -> dict[str, Any] | None:
    """The stored tables' description when they were made by this code, else None (derive on first use)."""
    try:
        data = json.loads((folder / FOLDER / DESCRIPTION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("code") == code_hash() else None


def is_current(folder: Path) -> bool:
    """The generation in ``folder`` holds tables this code made (else a rebuild writes them, reusing every vector)."""
    return _description(folder) is not None


def load_lexical(folder: Path, n_chunks: int):  # type: ignore[no-untyped-def]
    """The stored BM25 index (memory-mapped), or None."""
    from .lexical import LexicalIndex

    desc = _description(folder)
    if desc is None or desc.get("chunks") != n_chunks:
        return None
    return LexicalIndex.load(folder / FOLDER / "bm25", n_chunks)


def _sparse(per_sentence: Sequence[frozenset[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(vocabulary, row pointers, column ids) of the sentence-by-term matrix: the form stored and read back."""
    vocab: dict[str, int] = {}
    indptr = [0]
    indices: list[int] = []
    for ts in per_sentence:
        indices.extend(sorted({vocab.setdefault(t, len(vocab)) for t in ts}))
        indptr.append(len(indices))
    return list(vocab), np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int32)


class TermTable:
    """The terms of each sentence as a sparse matrix (sentence rows, term columns, as stored), read without making
    a set per sentence: a question reads the rows of its few hundred candidates and the columns (postings) of its
    few terms. At 440 articles making 95,600 sets and the postings dict cost 1.3 s on every process's first question.

    ``table[sid]`` is a sentence's terms, ``table.postings(term)`` the sentences holding a term, ``table.df(term)``
    their number."""

    def __init__(self, vocab: list[str], indptr: np.ndarray, indices: np.ndarray) -> None:
        self.vocab = vocab
        self._id = {t: i for i, t in enumerate(vocab)}
        self._indptr = np.asarray(indptr, dtype=np.int64)
        self._indices = np.asarray(indices, dtype=np.int32)
        self._counts = np.bincount(self._indices, minlength=len(vocab)) if len(vocab) else np.zeros(0, np.int64)
        self._col_start = np.concatenate([[0], np.cumsum(self._counts)]).astype(np.int64)
        owners = np.repeat(np.arange(len(self._indptr) - 1, dtype=np.int32), np.diff(self._indptr))
        self._col_rows = owners[np.argsort(self._indices, kind="stable")]  # sentence ids, by term, ascending

    @classmethod
    def from_sets(cls, per_sentence: Sequence[frozenset[str]]) -> TermTable:
        return cls(*_sparse(per_sentence))

    def __len__(self) -> int:
        return len(self._indptr) - 1

    def __getitem__(self, sid: int) -> frozenset[str]:
        row = self._indices[self._indptr[sid] : self._indptr[sid + 1]]
        return frozenset(self.vocab[i] for i in row.tolist())

    def postings(self, term: str) -> list[int]:
        i = self._id.get(term)
        return [] if i is None else self._col_rows[self._col_start[i] : self._col_start[i + 1]].tolist()

    def df(self, term: str) -> int:
        i = self._id.get(term)
        return 0 if i is None else int(self._counts[i])

    def __contains__(self, term: object) -> bool:
        return term in self._id


def load_terms(folder: Path, n_sentences: int) -> tuple[TermTable, set[str]] | None:
    """(terms of each sentence, words of the library) as stored, or None."""
    desc = _description(folder)
    if desc is None or desc.get("sentences") != n_sentences:
        return None
    with np.load(folder / FOLDER / "terms.npz", allow_pickle=False) as data:
        vocab = data["vocab"].tolist()
        indptr = data["indptr"]
        indices = data["indices"]
        library_words = set(data["words"].tolist())
    if len(indptr) != n_sentences + 1:
        return None
    return TermTable(vocab, indptr, indices), library_words


def load_aliases(folder: Path, builtin_aliases: dict[str, str]) -> Aliases | None:
    """The library's aliases from the stored abbreviations and capitalised tokens, or None."""
    if _description(folder) is None:
        return None
    data = json.loads((folder / FOLDER / "aliases.json").read_text(encoding="utf-8"))
    return Aliases.from_found(data["table"], data["capitals"], builtin_aliases)
