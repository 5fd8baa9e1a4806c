"""Job dependencies: a job's runs wait on the latest run of another job of its project.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ferryman.api.store.models import AwareDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_dependencies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("project_id", sa.String(63), nullable=False),
        sa.Column("job_slug", sa.String(63), nullable=False),
        sa.Column("depends_on_slug", sa.String(63), nullable=False),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("created_at", AwareDateTime(), nullable=False),
        # Also the index of "a job's dependencies" and "a project's dependencies".
        sa.UniqueConstraint("project_id", "job_slug", "depends_on_slug"),
        sa.ForeignKeyConstraint(
            ["project_id", "job_slug"], ["workflows.project_id", "workflows.slug"]
        ),
        sa.ForeignKeyConstraint(
            ["project_id", "depends_on_slug"], ["workflows.project_id", "workflows.slug"]
        ),
    )


def downgrade() -> None:
    op.drop_table("job_dependencies")
