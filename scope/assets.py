"""Static files with their content hash in the URL, cached by browsers for a year."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, redirect, request, url_for

ONE_YEAR = 365 * 24 * 3600


def register(app: Flask) -> None:
    static_folder = Path(app.static_folder)

    @cache
    def content_hash(filename: str) -> str:
        return hashlib.sha256((static_folder / filename).read_bytes()).hexdigest()[:12]

    def static_url(filename: str) -> str:
        # In debug the hash is recomputed so an edited file is fetched again.
        version = content_hash.__wrapped__(filename) if app.debug else content_hash(filename)
        return url_for("static", filename=filename, v=version)

    default_max_age = app.get_send_file_max_age

    def max_age(filename: str | None) -> int | None:
        # Only a URL naming the content may be cached for long: a new file gets a new URL.
        return ONE_YEAR if request.args.get("v") else default_max_age(filename)

    app.get_send_file_max_age = max_age
    app.add_template_global(static_url)

    @app.get("/favicon.ico")
    def favicon():
        # Pages name their icon; this answers browsers (and tools) that ask the old way.
        return redirect(static_url("favicon.svg"), 301)
