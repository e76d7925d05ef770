"""make_app: the Klein app, composed of the route modules (each add_routes(app, ctx))."""
from klein import Klein
from twisted.logger import Logger
from werkzeug.exceptions import HTTPException

from gxcpoold.web import api, metrics, openapi, pages, sse
from gxcpoold.web.http import ApiError, error_body

log = Logger(namespace="gxcpoold.web")
ROUTE_MODULES = (api, openapi, sse, metrics, pages)


def make_app(ctx) -> Klein:
    app = Klein()

    @app.handle_errors(ApiError)
    def refused(request, failure):
        error = failure.value
        return error_body(request, error.status, error.message)

    @app.handle_errors(HTTPException)
    def http_error(request, failure):
        # werkzeug's routing answers: 404 no such path, 405 wrong method
        error = failure.value
        if error.code == 405:
            request.setHeader(b"Allow", b"GET, HEAD")
        return error_body(request, error.code, error.name.lower())

    @app.handle_errors(Exception)
    def failed(request, failure):
        log.failure("web request {path} failed", failure,
                    path=request.path[:200].decode("ascii", "replace"))
        return error_body(request, 500, "internal error")

    for module in ROUTE_MODULES:
        module.add_routes(app, ctx)
    return app
