"""Report: the typed report model, its summaries and its files (JSON, Markdown, dotenv)."""
