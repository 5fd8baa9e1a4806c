"""The executions surface, `/api/v1` (seeds 000, 002, 003).

One module per resource (its routes, gathered in `routes`), `schemas` (wire bodies; their
OpenAPI examples in `examples`), `serializer` (the one mapping from domain objects to those
bodies) and `statuses` (this surface's names for statuses).
"""
