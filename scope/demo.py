"""Demo data: a sponsor with realistic organizations, people and invitations."""

from __future__ import annotations

import os
import random
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from .auth.passwords import hash_password
from .bulk_load import analyze, indexes_built_after, insert_rows
from .emails import normalize_email
from .extensions import db
from .manage.marks import maintain_marks
from .models import (
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
from .notices.services import EXPIRY_WARNING
from .sponsors import get_or_create_sponsor
from .text import name_key, person_name_key

FIRST = [
    "Ava",
    "Ben",
    "Carla",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Imani",
    "Jonah",
    "Keiko",
    "Luis",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aaron",
    "Bianca",
    "Caleb",
    "Dana",
    "Emeka",
    "Fiona",
    "Gabriel",
    "Hana",
    "Ivan",
    "Jada",
    "Kofi",
    "Lena",
    "Marco",
    "Nadia",
]
LAST = [
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Johnson",
    "Kim",
    "Lopez",
    "Murphy",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quinn",
    "Rivera",
    "Singh",
    "Torres",
    "Ueda",
    "Vargas",
    "Walker",
    "Xu",
    "Young",
    "Zimmerman",
    "Abbott",
    "Brooks",
    "Castillo",
    "Dubois",
    "Ellis",
    "Flores",
]
EMPLOYER_WORDS = [
    "Northside",
    "Harbor",
    "Summit",
    "Pioneer",
    "Keystone",
    "Cedar",
    "Granite",
    "Lakeshore",
    "Prairie",
    "Redwood",
    "Beacon",
    "Ironwood",
    "Bluewater",
    "Frontier",
    "Maple",
    "Riverside",
    "Copper",
    "Evergreen",
    "Highland",
    "Union",
]
EMPLOYER_TRADES = [
    "Electric",
    "Plumbing",
    "Builders",
    "Machining",
    "Health",
    "Pharmacy",
    "Fabrication",
    "Mechanical",
    "Logistics",
    "Systems",
    "Networks",
    "Construction",
    "Manufacturing",
    "Welding",
]
EMPLOYER_SUFFIX = ["LLC", "Inc.", "Co.", "Group", "Partners", "Services"]
PROVIDER_NAMES = [
    "Community College",
    "Technical Institute",
    "Trade School",
    "Career Academy",
    "Polytechnic",
    "Skills Center",
]
CITIES = [
    ("Columbus", "OH", "43215"),
    ("Denver", "CO", "80202"),
    ("Madison", "WI", "53703"),
    ("Raleigh", "NC", "27601"),
    ("Tucson", "AZ", "85701"),
    ("Spokane", "WA", "99201"),
    ("Lansing", "MI", "48933"),
    ("Albany", "NY", "12207"),
]


def _passphrase(rng: random.SystemRandom) -> str:
    words = "amber canyon falcon harbor lantern meadow orbit pepper quartz saddle timber velvet"
    return "-".join(rng.choice(words.split()) for _ in range(4)) + str(rng.randint(10, 99))


def kept_password(path: Path) -> str:
    """The demo password kept at `path`, made (readable only by its owner) on the first run."""
    if path.exists():
        kept = path.read_text("utf-8").strip()
        if kept:
            return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    password = _passphrase(random.SystemRandom())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password + "\n")
    return password


def seed(
    *,
    sponsor_name: str,
    users: int,
    invitations: int,
    orgs: int,
    staff_email: str,
    staff_password: str | None,
) -> str:
    rng = random.Random(20261129)
    sponsor = get_or_create_sponsor(sponsor_name)
    password = staff_password or _passphrase(random.SystemRandom())
    staff_email = normalize_email(staff_email)
    staff = db.session.scalar(
        select(User).where(User.sponsor_id == sponsor.id, User.email == staff_email)
    )
    if staff is None:
        staff = User(
            sponsor_id=sponsor.id,
            email=staff_email,
            first_name="Sam",
            last_name="Staffer",
            user_type=UserType.STAFF,
            status=UserStatus.ACTIVE,
        )
        db.session.add(staff)
    staff.password_hash = hash_password(password)
    staff.status = UserStatus.ACTIVE
    db.session.flush()

    existing = db.session.scalar(
        select(func.count()).where(PartnerOrganization.sponsor_id == sponsor.id)
    )
    lines = []
    if existing:
        lines.append(f"Sponsor {sponsor.name!r} already has demo data; left as it is.")
    else:
        _fill(rng, sponsor.id, staff.id, users, invitations, orgs)
        lines.append(
            f"Seeded {sponsor.name!r}: {orgs} organizations, {users} users, "
            f"{invitations} invitations."
        )
    db.session.commit()
    if not existing:
        # A large sponsor's page marks now rather than at the mail worker's next round.
        maintain_marks()
        analyze()
    lines.append(f"Staff login: {staff.email} / {password}")
    return "\n".join(lines)


def _emails_already_made(state, sent: datetime, now: datetime, reminder_days) -> dict:
    """A pending invitation's reminders and expiry notice, as the mail worker would have
    made them by now: the demo starts where a running installation is, not with every
    reminder of the last month due at once (which the first web process would then make,
    200 at a time)."""
    pending = state is InvitationState.PENDING
    sent_days = [day for day in reminder_days if pending and sent + timedelta(days=day) <= now]
    expires = sent + timedelta(days=14)
    return {
        "reminder_count": len(sent_days),
        "reminded_at": sent + timedelta(days=sent_days[-1]) if sent_days else None,
        "expiry_noticed_at": now if pending and now < expires <= now + EXPIRY_WARNING else None,
    }


def _fill(rng, sponsor_id, staff_id, n_users, n_invitations, n_orgs) -> None:
    now = utcnow()
    reminder_days = sorted(current_app.config["INVITATION_REMINDER_DAYS"])
    occupations = list(
        db.session.scalars(select(Occupation.id).where(Occupation.sponsor_id == sponsor_id))
    )
    org_rows = []
    seen = set()
    for i in range(n_orgs):
        city, state, zip_code = rng.choice(CITIES)
        if i % 4 == 3:
            kind = OrganizationKind.PROVIDER
            name = f"{city} {rng.choice(PROVIDER_NAMES)}"
        else:
            kind = OrganizationKind.EMPLOYER
            name = (
                f"{rng.choice(EMPLOYER_WORDS)} {rng.choice(EMPLOYER_TRADES)} "
                f"{rng.choice(EMPLOYER_SUFFIX)}"
            )
        base, n = name, 2
        while (kind, name_key(name)) in seen:
            name, n = f"{base} {n}", n + 1
        seen.add((kind, name_key(name)))
        org_rows.append(
            {
                "sponsor_id": sponsor_id,
                "kind": kind,
                "name": name,
                "name_key": name_key(name),
                "city": city,
                "state": state,
                "zip_code": zip_code,
                "phone": f"(555) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                "created_at": now - timedelta(days=rng.randint(1, 900)),
                "updated_at": now,
            }
        )
    if org_rows:
        insert_rows(PartnerOrganization, org_rows)
    org_ids = list(
        db.session.scalars(
            select(PartnerOrganization.id).where(PartnerOrganization.sponsor_id == sponsor_id)
        )
    )
    if not org_ids:
        return
    active_hash = hash_password(secrets.token_urlsafe(16))
    types = [UserType.ADMINISTRATOR, UserType.SUPERVISOR, UserType.MENTOR, UserType.PROVIDER]
    statuses = [UserStatus.ACTIVE] * 5 + [UserStatus.MANAGED] * 4 + [UserStatus.DEACTIVATED]
    # A large load builds the indexes after the rows are in (scope/bulk_load.py).
    with indexes_built_after([User, Invitation], n_users + n_invitations):
        batch = []
        for i in range(n_users):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            user_type = rng.choice(types)
            status = rng.choice(statuses)
            has_email = status is not UserStatus.MANAGED or rng.random() < 0.8
            batch.append(
                {
                    "sponsor_id": sponsor_id,
                    "email": f"{first}.{last}.{i}@example.org".lower() if has_email else None,
                    "first_name": first,
                    "last_name": last,
                    "name_key": person_name_key(first, last),
                    "user_type": user_type,
                    "status": status,
                    "partner_organization_id": rng.choice(org_ids),
                    "occupation_id": rng.choice(occupations)
                    if user_type is UserType.MENTOR
                    else None,
                    "password_hash": active_hash if status is not UserStatus.MANAGED else None,
                    "session_version": 1,
                    "last_login_at": now - timedelta(days=rng.randint(0, 200))
                    if status is UserStatus.ACTIVE
                    else None,
                    "created_at": now - timedelta(days=rng.randint(1, 700)),
                }
            )
            if len(batch) == 5000:
                insert_rows(User, batch)
                batch = []
        insert_rows(User, batch)
        batch = []
        for i in range(n_invitations):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            user_type = rng.choice(types)
            email = f"{first}.{last}.invited{i}@example.net".lower()
            sent = now - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 1440))
            # One in ten was revoked and one in ten accepted: MANAGE → Invitations keeps them.
            state = {0: InvitationState.REVOKED, 1: InvitationState.ACCEPTED}.get(
                i % 10, InvitationState.PENDING
            )
            batch.append(
                {
                    "sponsor_id": sponsor_id,
                    "email": email,
                    "pending_email": email if state is InvitationState.PENDING else None,
                    "user_type": user_type,
                    "partner_organization_id": rng.choice(org_ids),
                    "occupation_id": rng.choice(occupations)
                    if user_type is UserType.MENTOR
                    else None,
                    "invited_by_id": staff_id,
                    "state": state,
                    "revoked_at": sent + timedelta(days=1)
                    if state is InvitationState.REVOKED
                    else None,
                    "revoked_by_id": staff_id if state is InvitationState.REVOKED else None,
                    "accepted_at": sent + timedelta(hours=5)
                    if state is InvitationState.ACCEPTED
                    else None,
                    "nonce": secrets.token_urlsafe(24),
                    "sent_at": sent,
                    "expires_at": sent + timedelta(days=14),
                    "reviewed_at": sent + timedelta(hours=3) if rng.random() < 0.3 else None,
                    "resend_count": 0,
                    **_emails_already_made(state, sent, now, reminder_days),
                    "created_at": sent,
                }
            )
            if len(batch) == 5000:
                insert_rows(Invitation, batch)
                batch = []
        insert_rows(Invitation, batch)
