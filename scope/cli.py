"""Command-line interface: create-staff, seed-demo, mail-worker (db upgrade: Flask-Migrate)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from .auth.passwords import hash_password, password_problem
from .auth.services import login_account
from .emails import EmailRefused, normalize_email
from .extensions import db
from .models import User, UserStatus, UserType
from .sponsors import get_or_create_sponsor


def register_cli(app: Flask) -> None:
    @app.cli.command("create-staff")
    @click.argument("email")
    @click.option("--password", required=True, help="At least 12 characters, not a common one.")
    @click.option("--sponsor", "sponsor_name", required=True, help="Sponsor name; created if new.")
    @click.option("--first-name", default="")
    @click.option("--last-name", default="")
    def create_staff(email, password, sponsor_name, first_name, last_name):
        """Create a staff user who can log in (and the sponsor, if it is new)."""
        try:
            email = normalize_email(email)
        except EmailRefused as refused:
            raise click.BadParameter(refused.message, param_hint="EMAIL") from None
        problem = password_problem(password, hints=[email])
        if problem:
            raise click.BadParameter(problem, param_hint="--password")
        if not sponsor_name.strip():
            raise click.BadParameter("Give the sponsor a name.", param_hint="--sponsor")
        if login_account(email) is not None:
            raise click.ClickException(f"An account for {email} already exists.")
        sponsor = get_or_create_sponsor(sponsor_name)
        user = User(
            sponsor_id=sponsor.id,
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            user_type=UserType.STAFF,
            status=UserStatus.ACTIVE,
            password_hash=hash_password(password),
        )
        db.session.add(user)
        db.session.commit()
        click.echo(f"Staff user {email} created for sponsor {sponsor.name}.")

    @app.cli.command("seed-demo")
    @click.option("--sponsor", "sponsor_name", default="Riverbend Apprenticeship Alliance")
    @click.option("--users", default=60, show_default=True, type=click.IntRange(0, 1_000_000))
    @click.option("--invitations", default=12, show_default=True, type=click.IntRange(0, 1_000_000))
    @click.option("--orgs", default=12, show_default=True, type=click.IntRange(0, 100_000))
    @click.option("--staff-email", default="staff@scope.example.com", show_default=True)
    @click.option("--staff-password", default=None, help="Generated when not given.")
    @click.option(
        "--keep-password",
        is_flag=True,
        help="Use the password the last run generated (kept in the instance folder, readable "
        "only by you), so a browser's saved password keeps working.",
    )
    def seed_demo(
        sponsor_name, users, invitations, orgs, staff_email, staff_password, keep_password
    ):
        """Fill a demo sponsor with organizations, users and invitations."""
        from .demo import kept_password, seed

        if keep_password and not staff_password:
            staff_password = kept_password(Path(app.instance_path) / "demo-password")

        summary = seed(
            sponsor_name=sponsor_name,
            users=users,
            invitations=invitations,
            orgs=orgs,
            staff_email=staff_email,
            staff_password=staff_password,
        )
        click.echo(summary)

    @app.cli.command("mail-worker")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit (cron, tests).")
    @click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10_000))
    @click.option(
        "--poll-interval", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600)
    )
    def mail_worker(once, batch_size, poll_interval):
        """Deliver queued mail until stopped; several workers may run at once."""
        from .mail.worker import run_worker

        counts = run_worker(
            app,
            once=once,
            batch_size=batch_size,
            poll_interval=poll_interval,
            echo=click.echo,
        )
        click.echo(f"mail-worker: {counts}.")
