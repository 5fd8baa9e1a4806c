"""Step activities: one module per step kind, plus a registry of user activities by name."""
