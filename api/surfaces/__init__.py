"""The HTTP surfaces over the execution domain: one package each, plus health.

`api_v1` is `/api/v1` (seeds 000, 002, 003), `v1` is `/v1` (seed 001), `dashboard` is `/ui`
(pages for people, answering its refusals as HTML itself); `routes` registers them.
Importing a surface's wire bodies (`schemas`, `job_schemas`) imports no router, no FastAPI
and no server module: the Python client (`ferryman.client`) types its answers with them.
"""
