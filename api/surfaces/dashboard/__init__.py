"""ferryman's dashboard, `/ui`: every run seen and driven in a browser.

Server-rendered pages (Jinja2, autoescaped) with htmx and its SSE extension for live rows,
steps and events; every asset is in the package (`static/`, vendored scripts with their
licenses in `static/vendor/`). Sign-in takes an API key (`session`); each page calls the
execution domain as the `/v1` routes do, with the key's project and scopes. One module per
page (its routes, gathered in `routes`), `views` (the one view-model module), `rendering`
(templates, static files, refusals as HTML).
"""
