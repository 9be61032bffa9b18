"""Every MANAGE and Partners request stays within its SQL statement budget (no N+1).

The data has many organizations, occupations, inviters and emails, so a relationship
loaded row by row would show up as dozens of statements.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from scope.extensions import db
from scope.mail.services import queue_mail
from scope.manage import marks
from scope.models import (
    Invitation,
    InvitationState,
    Occupation,
    OrganizationKind,
    PartnerOrganization,
    User,
    UserStatus,
    UserType,
    utcnow,
)

# Statements are counted: the savepoints of a rolled-back test would count too.
pytestmark = pytest.mark.real_commits

BUDGET = 6

PATHS = [
    "/manage/users",
    "/manage/users?q=person",
    "/manage/users?q=ann+person",
    "/manage/users?type=mentor",
    "/manage/users?status=managed",
    "/manage/users?organization={org_id}",
    "/manage/users?organization_name=org",
    "/manage/users?sort=email&dir=desc",
    "/manage/users?sort=type",
    "/manage/users?sort=status&dir=desc",
    "/manage/users?sort=organization",
    "/manage/users?sort=last_login",
    "/manage/users?size=10&page=3",
    "/manage/users?page=999",
    "/manage/users?letter=M",
    "/manage/users?dir=desc&letter=M&status=active",
    "/manage/users/{user_id}",
    "/manage/invitations",
    "/manage/invitations?sort=organization&dir=desc",
    "/manage/invitations?status=pending&page=2&size=10",
    "/manage/invitations?status=sent",
    "/manage/invitations?status=all",
    "/manage/invitations?status=expired",
    "/manage/invitations?status=accepted",
    "/manage/invitations?status=revoked",
    "/manage/invitations?organization={org_id}",
    "/manage/invitations?type=mentor",
    "/manage/invitations?invited_by={user_id}",
    "/manage/invitations?sent_from=2020-01-01&sent_to=2099-12-31&status=all",
    "/manage/invitations?status=all&organization={org_id}&type=mentor&sent_from=2020-01-01",
    "/partners/employers",
    "/partners/employers?q=org&sort=city",
    "/partners/providers?page=2&size=10",
    "/partners/organizations/{org_id}",
    "/partners/occupations",
    "/partners/organizations/search?organization_name=org&create=employer",
    "/partners/organizations/search?organization_name=",
]


@contextmanager
def count_statements():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


@pytest.fixture
def populated(app, staff):
    """40 users over 8 organizations and 4 occupations (each organization with mentors of
    two), 30 invitations with their emails (some revoked, some accepted)."""
    with app.app_context():
        now = utcnow()
        sponsor_id = staff.sponsor_id
        occupations = [
            Occupation(sponsor_id=sponsor_id, name=f"Trade {i}", name_key=f"trade {i}")
            for i in range(4)
        ]
        organizations = [
            PartnerOrganization(
                sponsor_id=sponsor_id,
                kind=OrganizationKind.EMPLOYER if i % 2 else OrganizationKind.PROVIDER,
                name=f"Org {i}",
                name_key=f"org {i}",
                city=f"City {i}",
            )
            for i in range(8)
        ]
        db.session.add_all(occupations + organizations)
        db.session.flush()
        types = [UserType.ADMINISTRATOR, UserType.SUPERVISOR, UserType.MENTOR, UserType.PROVIDER]
        statuses = list(UserStatus)
        inviters = []
        for i in range(40):
            user_type = types[i % 4]
            user = User(
                sponsor_id=sponsor_id,
                email=f"person{i}@budget.test",
                first_name="Ann" if i % 3 else "Bo",
                last_name=f"Person{i:02d}",
                name_key=f"person{i:02d} {'ann' if i % 3 else 'bo'}",
                user_type=user_type,
                status=statuses[i % 3],
                # Each organization has two mentors, in different occupations: a page that
                # loaded each row's occupation on its own would read them one by one.
                partner_organization_id=organizations[(i // 4) % 8].id,
                occupation_id=occupations[i // 10].id if user_type is UserType.MENTOR else None,
                last_login_at=now - timedelta(days=i) if i % 2 else None,
            )
            db.session.add(user)
            inviters.append(user)
        db.session.flush()
        for i in range(30):
            # Every fifth is revoked and every fifth accepted: the history rows name people.
            state = {3: InvitationState.REVOKED, 4: InvitationState.ACCEPTED}.get(
                i % 5, InvitationState.PENDING
            )
            invitation = Invitation(
                sponsor_id=sponsor_id,
                email=f"invited{i}@budget.test",
                pending_email=f"invited{i}@budget.test"
                if state is InvitationState.PENDING
                else None,
                revoked_by_id=inviters[i + 1].id if state is InvitationState.REVOKED else None,
                accepted_user_id=inviters[i + 2].id if state is InvitationState.ACCEPTED else None,
                user_type=UserType.MENTOR if i % 2 else UserType.SUPERVISOR,
                partner_organization_id=organizations[i % 8].id,
                occupation_id=occupations[i % 4].id if i % 2 else None,
                invited_by_id=inviters[i].id,
                state=state,
                nonce=f"nonce-{i}",
                sent_at=now - timedelta(days=i),
                expires_at=now + timedelta(days=14 - i),
            )
            db.session.add(invitation)
            db.session.flush()
            queue_mail(
                kind="invitation",
                recipient=invitation.email,
                subject="Invitation",
                sponsor_id=sponsor_id,
                invitation_id=invitation.id,
                sponsor=None,
                organization=organizations[i % 8],
                where="Org",
                user_type=invitation.user_type,
                inviter=inviters[i],
                link="http://scope.test/join/x",
                expires_at=invitation.expires_at,
            )
        db.session.commit()
        return {"org_id": organizations[1].id, "user_id": inviters[2].id}


# A sponsor with page marks (scope/manage/marks.py): a page number or a letter reads them.
MARKED_PATHS = [
    "/manage/users?size=10&page=3",
    "/manage/users?page=999",
    "/manage/users?dir=desc&size=10&page=2",
    "/manage/users?status=managed&size=5&page=2",
    "/manage/users?letter=M",
    "/manage/users?dir=desc&letter=M&type=mentor",
]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
@pytest.mark.parametrize("path", PATHS + [f"marked:{path}" for path in MARKED_PATHS])
def test_request_stays_within_its_statement_budget(app, staff, populated, path, htmx):
    if path.startswith("marked:"):
        path = path.removeprefix("marked:")
        with app.app_context():
            marks.make_marks(staff.sponsor_id, 4)
            db.session.commit()
    url = path.format(**populated)
    staff.get(url, htmx=htmx)  # warm: first-use queries of the process do not count
    with app.app_context(), count_statements() as statements:
        response = staff.get(url, htmx=htmx)
    assert response.status_code == 200, url
    assert len(statements) <= BUDGET, "\n\n".join([url, *statements])


def test_budget_does_not_grow_with_rows(app, staff, populated):
    """The same page with 10 and 100 rows issues the same statements."""
    counts = []
    for size in (10, 100):
        with app.app_context(), count_statements() as statements:
            staff.get(f"/manage/users?size={size}", htmx=True)
        counts.append(len(statements))
    assert counts[0] == counts[1]
