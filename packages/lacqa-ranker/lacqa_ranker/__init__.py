"""The weights of lacqa's evidence ranker (ranker.json describes them; lacqa.answer.ranker loads them)."""

from pathlib import Path

PATH = Path(__file__).parent
