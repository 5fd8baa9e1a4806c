from ferryman.activities.registry import step_activity  # noqa: F401
