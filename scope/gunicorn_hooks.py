"""Checks gunicorn runs in its master process before it starts any worker.

gunicorn.conf.py at the repository root imports these hooks (gunicorn reads that file from
the directory it starts in, or from -c PATH), and create_app refuses to run under gunicorn
when they were not loaded. Only here is the final number of workers known, whether it came
from -w, GUNICORN_CMD_ARGS, WEB_CONCURRENCY or a config file.
"""

from __future__ import annotations

from flask import Flask

from .config import check_config, check_workers, load_config


def on_starting(server) -> None:
    """Refuse a deployment that could not work as configured; gunicorn prints the message
    of a RuntimeError (ConfigurationError is one) and exits with status 1."""
    app = Flask("scope", instance_relative_config=True)
    load_config(app, None)
    check_config(app)
    check_workers(app.config, server.cfg.workers)
