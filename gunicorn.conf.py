# Read by gunicorn when it starts in this directory (or given with -c): Scope's checks of the
# deployment, made once in the master before any worker starts. See scope/gunicorn_hooks.py.
from scope.gunicorn_hooks import on_starting  # noqa: F401
