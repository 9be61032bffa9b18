"""INVITE wizards count the batches sent from each draft, so a keep sent by the page before
a SEND is recognized and changes nothing

Revision ID: 0017t_wizard_sent_batches
Revises: 0017s_user_mark_lock
Create Date: 2026-12-01 21:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017t_wizard_sent_batches"
down_revision = "0017s_user_mark_lock"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wizard_draft") as batch:
        batch.add_column(
            sa.Column("sent_batches", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("wizard_draft") as batch:
        batch.drop_column("sent_batches")
