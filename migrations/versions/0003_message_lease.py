"""messages: the error a reply ended with, and the lease of a reply being written

Revision ID: 0003_message_lease
Revises: 0002_session_version
Create Date: 2026-12-03 09:00:00.000000

Replies left `streaming` by a process that died before this revision have no lease: they get
one that has already run out (their own creation time), so that the first sweep stores them as
failed with `generation_lost`, as it does for any reply whose writer died.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0003_message_lease"
down_revision = "0002_session_version"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_messages_stream_id', ['stream_id'], unique=False)
        batch_op.create_index('ix_messages_lease_expires_at', ['lease_expires_at'], unique=False)

    messages = sa.table(
        'messages',
        sa.column('status', sa.String),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('lease_expires_at', sa.DateTime(timezone=True)),
    )
    op.execute(
        messages.update()
        .where(messages.c.status == 'streaming')
        .values(lease_expires_at=messages.c.created_at)
    )


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_lease_expires_at')
        batch_op.drop_index('ix_messages_stream_id')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('error')
