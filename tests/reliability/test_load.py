"""Mixed staff workload against gunicorn on PostgreSQL: no 5xx, no lost writes.

Size: SCOPE_LOAD_CLIENTS clients (default 20) for SCOPE_LOAD_SECONDS seconds (default 60;
.ci/run uses 15). Every write the server acknowledged is looked for in the database after.
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from scope.extensions import db
from scope.models import Invitation, PartnerOrganization
from tests.helpers import PASSWORD, csrf_token, free_port, needs_postgres, postgres_url

pytestmark = pytest.mark.real_commits  # gunicorn reads what the test writes

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENTS = int(os.environ.get("SCOPE_LOAD_CLIENTS", "20"))
SECONDS = float(os.environ.get("SCOPE_LOAD_SECONDS", "60"))


@pytest.fixture
def gunicorn(app, redis_limits):
    port = free_port()
    storage, prefix = redis_limits
    env = {
        **os.environ,
        "SCOPE_SQLALCHEMY_DATABASE_URI": postgres_url(),
        "SCOPE_SECRET_KEY": "load-test-secret-key",
        "SCOPE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SCOPE_MAIL_DELIVER_IN_PROCESS": "false",
        # No mail server here: the invitations' mail is kept, as on a development machine.
        "SCOPE_DEV_MAILBOX": "true",
    }
    # Three workers count limits together, as several machines would.
    env.update(SCOPE_RATELIMIT_STORAGE_URI=storage, SCOPE_RATELIMIT_KEY_PREFIX=prefix)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "3",
            "--threads",
            "8",
            "--timeout",
            "60",
            "scope:create_app()",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/login", timeout=2).read()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not start: " + process.communicate()[1][-3000:])
    yield url
    process.terminate()
    _, errors = process.communicate(timeout=30)
    assert "Traceback" not in errors, errors[-5000:]


class Client:
    def __init__(self, base: str, email: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = None
        token = csrf_token(self.request("GET", "/login")[1])
        status, _ = self.request(
            "POST", "/login", {"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert status == 200, status
        self.token = csrf_token(self.request("GET", "/invite/")[1])

    def request(self, method, path, form=None, htmx=False):
        data = urllib.parse.urlencode(form or {}, doseq=True).encode() if method == "POST" else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if self.token:
            request.add_header("X-CSRFToken", self.token)
        if htmx:
            request.add_header("HX-Request", "true")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@needs_postgres
def test_mixed_staff_workload_has_no_5xx_and_loses_no_write(app, make_sponsor, make_user, gunicorn):
    sponsor_id = make_sponsor("Load Sponsor")
    emails = [
        make_user(f"staff{n}@load.example.com", sponsor_id=sponsor_id) for n in range(CLIENTS)
    ]
    assert len(emails) == CLIENTS
    clients = [Client(gunicorn, f"staff{n}@load.example.com") for n in range(CLIENTS)]
    statuses: Counter = Counter()
    organizations: list[str] = []
    invited: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def work(n: int, client: Client):
        rng = random.Random(n)
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            choice = rng.random()
            if choice < 0.15:
                name = f"Load Org {n}-{i}"
                status, _ = client.request(
                    "POST", "/partners/employers/new", {"name": name}, htmx=True
                )
                if status == 200:
                    with lock:
                        organizations.append(name)
            elif choice < 0.30:
                address = f"invitee{n}-{i}@load.example.com"
                status, _ = client.request(
                    "POST", "/invite/teammates/rows", {"email": address}, htmx=True
                )
                if status == 200:
                    status, body = client.request("POST", "/invite/teammates/send", htmx=True)
                    if status == 200 and "1 invitation sent." in body:
                        with lock:
                            invited.append(address)
            elif choice < 0.50:
                status, _ = client.request("GET", f"/manage/users?q=staff{rng.randrange(CLIENTS)}")
            elif choice < 0.65:
                status, _ = client.request("GET", "/partners/employers?q=load&sort=name")
            elif choice < 0.80:
                status, _ = client.request("GET", "/manage/invitations", htmx=True)
            elif choice < 0.90:
                status, _ = client.request("GET", "/manage/users.csv")
            else:
                status, _ = client.request("GET", "/invite/teammates")
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)

    with app.app_context():
        stored_orgs = set(
            db.session.scalars(
                select(PartnerOrganization.name).where(PartnerOrganization.sponsor_id == sponsor_id)
            )
        )
        stored_invitations = set(
            db.session.scalars(select(Invitation.email).where(Invitation.sponsor_id == sponsor_id))
        )
    lost_orgs = [name for name in organizations if name not in stored_orgs]
    lost_invitations = [a for a in invited if a not in stored_invitations]
    total = sum(statuses.values())
    print(
        f"\nload: {CLIENTS} clients, {SECONDS:.0f}s, {total} requests "
        f"({total / SECONDS:.0f}/s), statuses {dict(statuses)}; "
        f"{len(organizations)} organizations and {len(invited)} invitations acknowledged, "
        f"{len(lost_orgs) + len(lost_invitations)} lost"
    )
    assert not [s for s in statuses if s >= 500], statuses
    assert lost_orgs == [] and lost_invitations == []
    assert organizations and invited and total > CLIENTS * 5
