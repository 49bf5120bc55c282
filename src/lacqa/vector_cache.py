"""Vectors kept by content hash while a build embeds, so that a build killed half-way resumes without
re-embedding what it had done. SQLite in WAL mode, one commit per batch: a kill loses at most the batch in
flight. The cache lives in the index folder (``cache/vectors.sqlite``), is only ever read and written under
the build lock, and is emptied once a build publishes (the new generation then holds every vector)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


class VectorCache:
    """Vectors of one embedder (``model_id``) by text hash."""

    def __init__(self, path: Path, model_id: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.model_id = model_id
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, hash TEXT, dim INTEGER, vec BLOB, "
                         "PRIMARY KEY (model, hash))")
        self._db.commit()

    def get_many(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(hashes))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            rows = self._db.execute(
                f"SELECT hash, dim, vec FROM vectors WHERE model = ? AND hash IN ({','.join('?' * len(part))})",
                [self.model_id, *part],
            ).fetchall()
            for h, dim, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape[0] == dim:  # a torn row is ignored (and re-embedded)
                    out[h] = vec
        return out

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                [(self.model_id, h, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                 for h, v in items],
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def clear(self) -> None:
        with self._db:
            self._db.execute("DELETE FROM vectors")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("VACUUM")

    def close(self) -> None:
        self._db.close()
