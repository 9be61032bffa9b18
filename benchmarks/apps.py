"""The two servers a benchmark run starts: Scope itself, and Flask-Admin over the same table.

Both are built here so Scope carries no benchmark code: Scope gets one extra trivial route
(the baseline of what the server, Flask and the network cost), Flask-Admin gets a ModelView
of user_account with the same page size and columns as MANAGE → Users.
"""

from __future__ import annotations

import os

from flask import Flask

TRIVIAL_PATH = "/_bench/trivial"


def scope_app() -> Flask:
    from scope import create_app

    app = create_app()

    @app.get(TRIVIAL_PATH)
    def trivial():
        return "ok"

    return app


def admin_app() -> Flask:
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_babel import Babel

    from scope.extensions import db
    from scope.models import User

    class UserView(ModelView):
        page_size = 25
        can_set_page_size = False
        column_list = (
            "first_name",
            "last_name",
            "email",
            "user_type",
            "partner_organization",
            "occupation",
            "status",
            "last_login_at",
        )
        column_searchable_list = ("name_key", "email")
        column_filters = ("user_type", "status")
        column_default_sort = "name_key"
        column_sortable_list = ("name_key", "email", "user_type", "status", "last_login_at")

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["SCOPE_SQLALCHEMY_DATABASE_URI"]
    app.config["SECRET_KEY"] = os.environ.get("SCOPE_SECRET_KEY", "benchmark")
    db.init_app(app)
    # Flask-Admin translates its pages through Flask-Babel when it is installed (as it is
    # for Scope): without it, every page answers 500.
    Babel(app)
    admin = Admin(app, name="Bench")
    admin.add_view(UserView(User, db.session, endpoint="users", url="/admin/users"))
    return app
