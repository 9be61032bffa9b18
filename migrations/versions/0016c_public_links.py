"""public invite links and the sign-ups that come through them

A public link (one organization, user type and occupation) is handed out on flyers and
websites; people sign up through it, confirm their address, and with approval on wait for
staff. No account exists before the confirmation: public_signup keeps what was typed.

Revision ID: 0016c
Revises: 0016b2
Create Date: 2026-11-30 10:16:05.996375

"""

import sqlalchemy as sa
from alembic import op

revision = "0016c"
down_revision = "0016b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "public_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("partner_organization_id", sa.Integer(), nullable=False),
        sa.Column(
            "user_type",
            sa.Enum(
                "staff",
                "administrator",
                "supervisor",
                "mentor",
                "provider",
                name="usertype",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("occupation_id", sa.Integer(), nullable=True),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("previous_nonce", sa.String(length=64), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("max_signups", sa.Integer(), nullable=True),
        sa.Column("signup_count", sa.Integer(), nullable=False),
        sa.Column("allowed_domains", sa.Text(), nullable=True),
        sa.Column("require_approval", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_public_link_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["occupation_id"],
            ["occupation.id"],
            name=op.f("fk_public_link_occupation_id_occupation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["partner_organization_id"],
            ["partner_organization.id"],
            name=op.f("fk_public_link_partner_organization_id_partner_organization"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sponsor_id"],
            ["sponsor.id"],
            name=op.f("fk_public_link_sponsor_id_sponsor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_link")),
    )
    with op.batch_alter_table("public_link", schema=None) as batch_op:
        batch_op.create_index(
            "ix_public_link_sponsor", ["sponsor_id", "partner_organization_id"], unique=False
        )

    op.create_table(
        "public_signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("public_link_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("pending_email", sa.String(length=254), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "unconfirmed",
                "awaiting_approval",
                "approved",
                "declined",
                "replaced",
                name="signupstate",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_public_signup_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["public_link_id"],
            ["public_link.id"],
            name=op.f("fk_public_signup_public_link_id_public_link"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sponsor_id"],
            ["sponsor.id"],
            name=op.f("fk_public_signup_sponsor_id_sponsor"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_public_signup_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_signup")),
        sa.UniqueConstraint(
            "sponsor_id", "pending_email", name=op.f("uq_public_signup_sponsor_id_pending_email")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_public_signup_token_hash")),
    )
    with op.batch_alter_table("public_signup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_public_signup_link_email", ["public_link_id", "email"], unique=False
        )
        batch_op.create_index(
            "ix_public_signup_queue", ["sponsor_id", "state", "confirmed_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("public_signup", schema=None) as batch_op:
        batch_op.drop_index("ix_public_signup_queue")
        batch_op.drop_index("ix_public_signup_link_email")

    op.drop_table("public_signup")
    with op.batch_alter_table("public_link", schema=None) as batch_op:
        batch_op.drop_index("ix_public_link_sponsor")

    op.drop_table("public_link")
