"""The run-management surface, `/v1` (seed 001): jobs, runs, bulk calls, streams, AI records,
cron schedules.

One module per resource (its routes, gathered in `routes`), `schemas` and `job_schemas` (wire
bodies; their OpenAPI examples in `examples`), `serializer` (the one mapping from domain
objects to those bodies), `statuses` (its names for statuses: the canonical ones) and
`params` (the list filters).
"""
