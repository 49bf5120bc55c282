"""lacqa web chat: `python app.py` (or `lacqa serve`). Configure with LACQA_* environment variables."""

if __name__ == "__main__":
    from lacqa.config import Settings
    from lacqa.pipeline import Assistant

    settings = Settings()
    assistant = Assistant(settings)
    assistant.warm_in_background(assistant.warm_models)  # the models load while gradio is imported and the page laid out

    from lacqa.web import launch

    launch(settings, assistant=assistant, warm=False)
