"""One exception tree for lacqa. Library code raises these; only the CLI and the UI translate them.

    LacqaError                      base: every message says what to do next
    ├── ConfigError                 a setting or path is unusable
    ├── SourceError                 the sources folder is missing or holds nothing readable
    ├── IndexError_                 anything about the on-disk index
    │   ├── IndexMissingError       no index yet: run `lacqa index`
    │   ├── IndexCorruptError       a file of the index fails its check
    │   ├── IndexMismatchError      built by another embedder / settings than the ones in use
    │   ├── IndexLockedError        another build holds the lock
    │   └── StoreError              the vector store (Qdrant) cannot be reached or refuses a request
    ├── ModelError                  a model file is missing, unreadable or fails to load
    ├── GenerationError             the language model failed while drafting
    └── QuestionError               the question is empty or unusable
"""

from __future__ import annotations


class LacqaError(Exception):
    """Base of every error lacqa raises on purpose."""


class ConfigError(LacqaError):
    """A setting or a path given by the user cannot be used."""


class SourceError(LacqaError):
    """The sources folder is missing, or nothing in it could be read."""


class IndexError_(LacqaError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """Base for problems with the on-disk index."""


class IndexMissingError(IndexError_):
    """There is no published index generation yet."""


class IndexCorruptError(IndexError_):
    """A file of the index is missing or does not match its recorded hash."""


class IndexMismatchError(IndexError_):
    """The index was built with another embedder, dimension or format."""


class IndexLockedError(IndexError_):
    """Another build holds the index lock."""


class StoreError(IndexError_):
    """The vector store the index is searched on (a Qdrant server) cannot be reached or refused a request."""


class ModelError(LacqaError):
    """A model file is missing, corrupt or cannot be loaded."""


class GenerationError(LacqaError):
    """The language model failed while drafting an answer."""


class QuestionError(LacqaError):
    """The question is empty or otherwise unusable."""


__all__ = [
    "LacqaError",
    "ConfigError",
    "SourceError",
    "IndexError_",
    "IndexMissingError",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexLockedError",
    "StoreError",
    "ModelError",
    "GenerationError",
    "QuestionError",
]
