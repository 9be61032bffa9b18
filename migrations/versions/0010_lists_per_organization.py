"""a wizard's rows belong to the organization they were added for; typed rows and messages

Changing the organization of the INVITE wizards re-labelled the rows already in the list,
so SEND could invite three people to the wrong employer. Each row now keeps the
organization it was added for (existing rows take their draft's current organization, the
one they were shown under). A draft also keeps the row form as typed but not yet added, and
the personal message of the batch, which invitations keep to show to the person.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wizard_row') as batch:
        batch.add_column(sa.Column('partner_organization_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f('fk_wizard_row_partner_organization_id_partner_organization'),
            'partner_organization',
            ['partner_organization_id'],
            ['id'],
            ondelete='CASCADE',
        )
    op.execute(
        'UPDATE wizard_row SET partner_organization_id = ('
        'SELECT partner_organization_id FROM wizard_draft WHERE wizard_draft.id = wizard_row.draft_id)'
    )
    op.add_column('wizard_draft', sa.Column('typed', sa.JSON(), nullable=True))
    op.add_column('wizard_draft', sa.Column('message', sa.Text(), nullable=True))
    op.add_column('invitation', sa.Column('message', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('invitation') as batch:
        batch.drop_column('message')
    with op.batch_alter_table('wizard_draft') as batch:
        batch.drop_column('message')
        batch.drop_column('typed')
    with op.batch_alter_table('wizard_row') as batch:
        batch.drop_constraint(
            op.f('fk_wizard_row_partner_organization_id_partner_organization'), type_='foreignkey'
        )
        batch.drop_column('partner_organization_id')
