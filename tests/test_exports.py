"""CSV exports stream every row, however many chunks they take.

The exports read their rows a few hundred at a time while the body is sent; on PostgreSQL
from a server-side cursor that ends with its transaction. These tests export more rows than
one chunk holds, so the rows after the first chunk are read after the view has returned
(on PostgreSQL they failed to: the export stopped after 500 rows).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import insert

from scope.extensions import db
from scope.models import Invitation, InvitationState, User, UserStatus, UserType, utcnow

ROWS = 1_234  # more than two chunks of 500


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_users_export_lists_every_user_past_its_first_chunk(app, staff):
    with app.app_context():
        db.session.execute(
            insert(User),
            [
                {
                    "sponsor_id": staff.sponsor_id,
                    "email": f"many{i:04d}@example.com",
                    "first_name": "Many",
                    "last_name": f"M{i:04d}",
                    "name_key": f"m{i:04d} many",
                    "user_type": UserType.SUPERVISOR,
                    "status": UserStatus.MANAGED,
                    "session_version": 1,
                }
                for i in range(ROWS)
            ],
        )
        db.session.commit()
    response = staff.get("/manage/users.csv?status=managed")
    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) == 1 + ROWS
    assert {row[3] for row in rows[1:]} == {f"many{i:04d}@example.com" for i in range(ROWS)}


def test_the_invitations_export_lists_every_invitation_past_its_first_chunk(app, staff):
    now = utcnow()
    with app.app_context():
        db.session.execute(
            insert(Invitation),
            [
                {
                    "sponsor_id": staff.sponsor_id,
                    "email": f"invited{i:04d}@example.com",
                    "pending_email": f"invited{i:04d}@example.com",
                    "user_type": UserType.SUPERVISOR,
                    "invited_by_id": staff.user_id,
                    "state": InvitationState.PENDING,
                    "nonce": f"nonce-{i}",
                    "sent_at": now,
                    "expires_at": now + timedelta(days=14),
                    "resend_count": 0,
                    "created_at": now,
                }
                for i in range(ROWS)
            ],
        )
        db.session.commit()
    response = staff.get("/manage/invitations.csv")
    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) == 1 + ROWS
