"""What a generation derives (BM25, sentence terms, library words, aliases) is stored at index time and, read
back, equals what deriving it on the spot gives; stored tables made by other code are ignored, not trusted."""

from __future__ import annotations

import json

import pytest

from lacqa import derived
from lacqa.aliases import BUILTIN, Aliases
from lacqa.evidence import TermStats
from lacqa.lexical import LexicalIndex
from lacqa.store import Generation


@pytest.fixture
def generation(hash_assistant) -> Generation:  # type: ignore[no-untyped-def]
    hash_assistant.index()
    return hash_assistant.generation()


def _fresh_terms(generation: Generation) -> TermStats:
    """TermStats as an index without stored tables gets it."""
    folder = generation.folder
    (folder / derived.FOLDER / derived.DESCRIPTION).rename(folder / "moved.json")
    try:
        return TermStats(generation)
    finally:
        (folder / "moved.json").rename(folder / derived.FOLDER / derived.DESCRIPTION)


def test_stored_terms_equal_derived_ones(generation: Generation) -> None:
    stored = TermStats(generation)
    assert derived.load_terms(generation.folder, len(generation.sentences)) is not None
    fresh = _fresh_terms(generation)
    n = len(generation.sentences)
    assert [stored.sentence_terms[i] for i in range(n)] == [fresh.sentence_terms[i] for i in range(n)]
    vocab = set().union(*(fresh.sentence_terms[i] for i in range(n)))
    assert vocab == set(stored.sentence_terms.vocab)
    for t in sorted(vocab) + ["absentterm"]:
        assert stored.df(t) == fresh.df(t) and stored.postings(t) == fresh.postings(t)
    holding = {t: [i for i in range(n) if t in fresh.sentence_terms[i]] for t in ("china", "trade", "celac")}
    assert all(stored.postings(t) == ids and stored.df(t) == len(ids) > 0 for t, ids in holding.items())
    assert stored.vocab_words == fresh.vocab_words
    assert len(stored.sentence_terms) == len(generation.sentences) > 100


def test_stored_bm25_equals_a_fresh_one(generation: Generation) -> None:
    stored = derived.load_lexical(generation.folder, len(generation.chunks))
    assert stored is not None
    fresh = LexicalIndex([c.text for c in generation.chunks])
    for query in ("China CELAC forum ministerial meeting", "trade reached billion 2021", "Xi Jinping visit",
                  "zzz unknownword"):
        got, want = stored.search(query, 10), fresh.search(query, 10)
        assert [r for r, _ in got] == [r for r, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want])
    for term in ("china", "trade", "forum", "celac", "absent"):
        assert stored.df(term) == fresh.df(term)


def test_stored_aliases_equal_found_ones(generation: Generation) -> None:
    stored = derived.load_aliases(generation.folder, BUILTIN)
    fresh = Aliases([d.text for d in generation.documents.values()], BUILTIN)
    assert stored is not None
    assert stored.table == fresh.table and stored.capitals == fresh.capitals
    for text in ("the Latin America and Caribbean region", "LAC countries", "Beijing's white paper", "CELAC"):
        assert stored.targets(text) == fresh.targets(text)
        assert stored.extra_terms(text) == fresh.extra_terms(text)


def test_tables_made_by_other_code_are_not_used(generation: Generation) -> None:
    desc = generation.folder / derived.FOLDER / derived.DESCRIPTION
    data = json.loads(desc.read_text())
    desc.write_text(json.dumps({**data, "code": "another-version"}))
    assert derived.load_terms(generation.folder, len(generation.sentences)) is None
    assert derived.load_lexical(generation.folder, len(generation.chunks)) is None
    assert derived.load_aliases(generation.folder, BUILTIN) is None


def test_a_damaged_stored_table_fails_the_open_check(hash_assistant) -> None:  # type: ignore[no-untyped-def]
    from lacqa.errors import IndexCorruptError

    hash_assistant.index()
    gen = hash_assistant.generation()
    target = gen.folder / derived.FOLDER / "terms.npz"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IndexCorruptError, match="terms.npz"):
        Generation(gen.folder, gen.name)
