"""lacqa web chat: `python app.py` (or `lacqa serve`). Configure with LACQA_* environment variables."""

from lacqa.config import Settings
from lacqa.web import launch

if __name__ == "__main__":
    launch(Settings())
