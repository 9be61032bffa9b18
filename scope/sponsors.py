"""Sponsors (tenants) and what every new sponsor starts with."""

from __future__ import annotations

from sqlalchemy import select

from .extensions import db
from .models import Occupation, Sponsor
from .text import name_key

# Real registered-apprenticeship occupations: (name, RAPIDS code, O*NET-SOC code).
STARTER_OCCUPATIONS = [
    ("Electrician", "0159", "47-2111.00"),
    ("Plumber", "0419", "47-2152.00"),
    ("Carpenter", "0067", "47-2031.00"),
    ("Machinist", "0296", "51-4041.00"),
    ("Welder, Combination", "0627", "51-4121.00"),
    ("Pharmacy Technician", "1056", "29-2052.00"),
    ("Computer User Support Specialist", "2036CB", "15-1232.00"),
]


def get_or_create_sponsor(name: str) -> Sponsor:
    name = " ".join(name.split())
    sponsor = db.session.scalar(select(Sponsor).where(Sponsor.name == name))
    if sponsor is None:
        sponsor = Sponsor(name=name)
        db.session.add(sponsor)
        db.session.flush()
        for occupation_name, rapids, onet in STARTER_OCCUPATIONS:
            db.session.add(
                Occupation(
                    sponsor_id=sponsor.id,
                    name=occupation_name,
                    name_key=name_key(occupation_name),
                    rapids_code=rapids,
                    onet_code=onet,
                )
            )
        db.session.flush()
    return sponsor
