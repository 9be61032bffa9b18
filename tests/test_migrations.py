"""Migrations that change data, run on a database of their own from the revision before."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text

from scope import create_app


@pytest.fixture
def old_database(tmp_path):
    """A SQLite database at revision 0005, and an app that migrates it."""
    url = "sqlite:///" + str(tmp_path / "old.sqlite3")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0005")
    yield app, create_engine(url)


def test_0006_case_folds_every_name_key_and_keeps_a_colliding_one(old_database):
    app, engine = old_database
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO sponsor (id, name, created_at) VALUES (1, 'S', '2026-01-01')")
        )
        for ident, name, key in [
            (1, "Maßschneider", "maßschneider"),
            (2, "MASSSCHNEIDER", "massschneider"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO occupation (id, sponsor_id, name, name_key, created_at) "
                    "VALUES (:id, 1, :name, :key, '2026-01-01')"
                ),
                {"id": ident, "name": name, "key": key},
            )
        conn.execute(
            text(
                "INSERT INTO partner_organization (id, sponsor_id, kind, name, name_key, "
                "created_at, updated_at) VALUES (1, 1, 'employer', 'Straße Bau', 'straße bau', "
                "'2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO user_account (id, sponsor_id, email, first_name, last_name, name_key, "
                "user_type, status, session_version, created_at) VALUES (1, 1, NULL, 'Jörg', "
                "'Strauß', 'strauß jörg', 'supervisor', 'managed', 1, '2026-01-01')"
            )
        )
    with app.app_context():
        upgrade()
    with engine.connect() as conn:
        occupations = dict(conn.execute(text("SELECT id, name_key FROM occupation")).all())
        organization = conn.scalar(text("SELECT name_key FROM partner_organization"))
        person = conn.scalar(text("SELECT name_key FROM user_account"))
        found = conn.scalar(
            text("SELECT count(*) FROM user_search WHERE user_search MATCH 'strauss'")
        )
    # "massschneider" was taken by the second one: the first keeps its key, the upgrade passes.
    assert occupations == {1: "maßschneider", 2: "massschneider"}
    assert organization == "strasse bau"
    assert person == "strauss jörg"
    assert found == 1
    with app.app_context():
        downgrade(revision="0005")


def test_0019_keeps_every_id_given_and_gives_none_twice(tmp_path):
    """SQLite: the declarations change, not what is stored; the largest id given so far is
    the mark; downgrading puts the declarations back as they were."""
    url = "sqlite:///" + str(tmp_path / "ids.sqlite3")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    engine = create_engine(url)
    declared = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"
    with app.app_context():
        upgrade(revision="0018_wider_name_keys")
    # sqlite_sequence, SQLite's own (empty after the downgrade), is left out.
    every = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name != 'sqlite_sequence' ORDER BY name"
    )
    with engine.begin() as conn:
        before = conn.execute(text(every)).all()
        for name in ("Keep", "Last"):
            conn.execute(
                text("INSERT INTO sponsor (name, created_at) VALUES (:n, '2026-01-01')"),
                {"n": name},
            )
        conn.execute(text("DELETE FROM sponsor WHERE name = 'Last'"))
    engine.dispose()
    with app.app_context():
        upgrade()
    with engine.begin() as conn:
        assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in conn.scalar(
            text(declared), {"t": "sponsor"}
        )
        assert conn.scalar(text("SELECT name FROM sponsor WHERE id = 1")) == "Keep"
        conn.execute(text("INSERT INTO sponsor (name, created_at) VALUES ('New', '2026-01-01')"))
        # The upgrade found 1 as the largest id: the deleted 2 is given again once, and
        # from then on no id is: delete the newest and the next one is 3.
        newest = conn.scalar(text("SELECT max(id) FROM sponsor"))
        conn.execute(text("DELETE FROM sponsor WHERE id = :i"), {"i": newest})
        conn.execute(text("INSERT INTO sponsor (name, created_at) VALUES ('Next', '2026-01-01')"))
        assert conn.scalar(text("SELECT id FROM sponsor WHERE name = 'Next'")) == newest + 1
        assert conn.scalar(text("PRAGMA integrity_check")) == "ok"
    engine.dispose()
    with app.app_context():
        downgrade(revision="0018_wider_name_keys")
    with engine.begin() as conn:
        assert conn.execute(text(every)).all() == before
        assert conn.scalar(text("PRAGMA integrity_check")) == "ok"
