"""The sponsor's settings, which its staff keep: for now the time zone its people read
times in unless they chose their own."""

from flask import Blueprint

bp = Blueprint("settings", __name__)

from . import routes  # noqa: E402,F401  (registers the views)
