"""Scope: partner onboarding and user management for apprenticeship sponsors."""

from __future__ import annotations

import logging

from flask import Flask

from . import extensions as ext
from . import schema
from .config import check_config, load_config


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    check_config(app)

    # Extensions are reached through their module: the scope.mail package shadows a bare `mail`.
    ext.db.init_app(app)
    ext.migrate.init_app(
        app,
        ext.db,
        directory=str(_migrations_dir()),
        render_as_batch=True,
        compare_type=True,
        include_name=schema.include_name,
        include_object=schema.include_object,
    )
    ext.login_manager.init_app(app)
    ext.mail.init_app(app)
    ext.csrf.init_app(app)
    ext.limiter.init_app(app)
    # Brotli where browsers take it, gzip otherwise (htmx fragments and pages are mostly text).
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])
    ext.compress.init_app(app)

    from . import assets, errors, htmx, i18n, security, templating, transactions
    from .accounts import link_routes  # noqa: F401 (its views register on accounts_bp)
    from .accounts.routes import bp as accounts_bp
    from .auth.routes import bp as auth_bp
    from .cli import register_cli
    from .invites import bp as invites_bp
    from .invites.join import bp as join_bp
    from .mail.routes import bp as mail_bp
    from .manage import bp as manage_bp
    from .notices.routes import bp as notices_bp
    from .partners import occupation_routes  # noqa: F401 (its views register on partners_bp)
    from .partners.routes import bp as partners_bp
    from .public_links import bp as public_links_bp
    from .public_links.signup_routes import bp as signup_bp
    from .settings import bp as settings_bp

    blueprints = (
        auth_bp,
        partners_bp,
        invites_bp,
        join_bp,
        manage_bp,
        accounts_bp,
        mail_bp,
        settings_bp,
        notices_bp,
        public_links_bp,
        signup_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    transactions.register(app)
    errors.register(app)
    assets.register(app)
    i18n.register(app)
    templating.register(app)
    security.register(app)
    app.after_request(htmx.after_request)
    register_cli(app)

    from .mail import delivery

    delivery.register(app)

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    return app


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
