"""The pool's web face: dashboard pages, JSON API, live events, /metrics (Klein).

service.py  WebService: listens on [web] endpoint, in the pool's reactor
context.py  WebContext: what the handlers read (read model, hub, node, ports)
app.py      make_app: one Klein app composed of the route modules below
http.py     the request: security headers, client IP, rate limit, JSON and errors
api.py      /api/... JSON endpoints          openapi.py  /api/openapi.json, /api-docs
pages.py    HTML pages (Jinja2, templates/)  charts.py   inline SVG charts
sse.py      /api/events (Server-Sent Events) metrics.py  /metrics (Prometheus)
"""
