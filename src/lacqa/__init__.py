"""lacqa: grounded question answering over a local library of documents, offline."""

__version__ = "0.1.0"

__all__ = ["__version__"]
