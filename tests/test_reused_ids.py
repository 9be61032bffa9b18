"""A deleted row's id is never given to the next row. SQLite did that (a table reused its
largest id once that row was deleted, and SQLite checks no foreign keys) until migration 0019
made those tables AUTOINCREMENT. What pointed at a deleted row must never come to point at a
new one: an organization in a wizard (perhaps another sponsor's), an account's History, even in
a database written before that migration."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from scope.extensions import db
from scope.models import (
    AuditEvent,
    Invitation,
    PartnerOrganization,
    UserStatus,
    UserType,
    WizardDraft,
    WizardKind,
)
from tests.helpers import text_of


def test_a_deleted_organizations_id_reused_by_another_sponsor_never_reaches_a_wizard(
    app, staff, make_sponsor, make_org
):
    """SQLite (the embedded default) gives a deleted row's id to the next row: a wizard draft
    still pointing at a deleted organization must not end up on another sponsor's."""
    mine = make_org(staff.sponsor_id, "Short Lived Welding")
    chose = staff.post("/invite/external", {"organization": mine}, htmx=True)
    assert chose.status_code == 200
    deleted = staff.post(f"/partners/organizations/{mine}/delete")
    assert deleted.status_code in (200, 302, 303)
    with app.app_context():
        assert db.session.get(PartnerOrganization, mine) is None
    # Another sponsor adds an organization: it takes the freed id.
    other_sponsor = make_sponsor("Zanzibar Guild")
    theirs = make_org(other_sponsor, "Zanzibar Secret Robotics")
    page = staff.get("/invite/external/users", follow_redirects=True)
    assert "Zanzibar Secret Robotics" not in page.get_data(as_text=True)
    staff.post("/invite/external/rows", {"user_type": "supervisor", "email": "s@x.example"})
    staff.post("/invite/external/send", htmx=True)
    with app.app_context():
        leaked = db.session.scalars(
            select(Invitation).where(
                Invitation.sponsor_id == staff.sponsor_id,
                Invitation.partner_organization_id == theirs,
            )
        ).all()
        assert leaked == []


def test_a_deleted_rows_id_is_never_given_again(app, staff, make_org):
    first = make_org(staff.sponsor_id, "Short Lived Welding")
    staff.post(f"/partners/organizations/{first}/delete")
    assert make_org(staff.sponsor_id, "Long Lived Welding") > first


def test_on_sqlite_every_table_with_an_id_never_gives_it_twice(app):
    """Migration 0019, and the tables of migrations to come: each table whose key is an id is
    AUTOINCREMENT, as the models declare it (scope.models.base.never_reuse_ids)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL's sequences never give an id twice")
        tables = [
            table.name
            for table in db.metadata.tables.values()
            if [column.name for column in table.primary_key.columns] == ["id"]
        ]
        assert len(tables) >= 13
        for name in tables:
            declared = db.session.scalar(
                text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
                {"n": name},
            )
            assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in declared, name


def test_a_new_account_does_not_inherit_a_deleted_accounts_history(app, staff, make_user, make_org):
    """A database from before migration 0019 may hold the history of a deleted account whose
    id SQLite then gave to a new one: the new account's History leaves it out."""
    org = make_org(staff.sponsor_id, "Keystone Electric")
    newcomer = make_user(
        "new@keystone.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        organization_id=org,
        with_password=False,
        first_name="Newcomer",
    )
    with app.app_context():
        # The deleted account's past, recorded under the id before the newcomer had it.
        for action in ("created_managed", "profile_updated", "deleted"):
            db.session.add(
                AuditEvent(
                    sponsor_id=staff.sponsor_id,
                    actor_id=staff.user_id,
                    action=action,
                    subject_type="user_account",
                    subject_id=newcomer,
                )
            )
        # What happened to the newcomer since.
        db.session.add(
            AuditEvent(
                sponsor_id=staff.sponsor_id,
                actor_id=staff.user_id,
                action="authentication_sent",
                subject_type="user_account",
                subject_id=newcomer,
            )
        )
        db.session.commit()
    history = text_of(
        staff.get(f"/manage/users/{newcomer}"), "section[aria-labelledby=history-title]"
    )
    assert "Authentication email sent" in history
    assert "Deleted" not in history and "Profile edited" not in history, history


def test_deleting_an_organization_sends_a_wizard_left_on_it_back_to_choose(app, staff, make_org):
    mine = make_org(staff.sponsor_id, "Short Lived Welding")
    staff.post("/invite/external", {"organization": mine}, htmx=True)
    staff.post(f"/partners/organizations/{mine}/delete")
    with app.app_context():
        draft = db.session.scalar(
            select(WizardDraft).where(WizardDraft.kind == WizardKind.EXTERNAL)
        )
        assert draft.partner_organization_id is None
    answer = staff.get("/invite/external/users")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/invite/external")


def test_a_wizard_never_shows_an_organization_of_another_sponsor(
    app, staff, make_sponsor, make_org
):
    """However its draft came to name one (a database written before deletes cleared it)."""
    mine = make_org(staff.sponsor_id, "Keystone Electric")
    theirs = make_org(make_sponsor("Zanzibar Guild"), "Zanzibar Secret Robotics")
    staff.post("/invite/external", {"organization": mine}, htmx=True)
    with app.app_context():
        db.session.execute(update(WizardDraft).values(partner_organization_id=theirs))
        db.session.commit()
    answer = staff.get("/invite/external/users", follow_redirects=True)
    assert "Zanzibar" not in answer.get_data(as_text=True)
    added = staff.post(
        "/invite/external/rows", {"user_type": "supervisor", "email": "s@x.example"}, htmx=True
    )
    assert "Zanzibar" not in added.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(WizardDraft.partner_organization_id)) is None
