"""make_app: the Klein app, composed of the route modules (each add_routes(app, ctx))."""
from klein import Klein
from twisted.logger import Logger
from werkzeug.exceptions import HTTPException

from gxcpoold.web import api, metrics, openapi, pages, sse
from gxcpoold.web.http import ApiError, error_body, is_api

log = Logger(namespace="gxcpoold.web")
ROUTE_MODULES = (api, openapi, sse, metrics, pages)


def make_app(ctx) -> Klein:
    app = Klein()

    @app.handle_errors(ApiError)
    def refused(request, failure):
        error = failure.value
        return error_body(request, error.status, error.message)

    html = {}          # the pages' renderer, for HTML error pages outside the API

    def error_answer(request, status, title, message):
        renderer = html.get("pages")
        if renderer is None or is_api(request):
            return error_body(request, status, message)
        try:
            return renderer.render(request, "error.html", status=status, active=None,
                                   title=title, message=message)
        except Exception:
            log.failure("the error page could not be drawn")
            return error_body(request, status, message)

    @app.handle_errors(HTTPException)
    def http_error(request, failure):
        # werkzeug's routing answers: 404 no such path, 405 wrong method
        error = failure.value
        if error.code == 405:
            request.setHeader(b"Allow", b"GET, HEAD")
        message = ("there is no page at this address" if error.code == 404
                   else error.name.lower())
        return error_answer(request, error.code, error.name, message)

    @app.handle_errors(Exception)
    def failed(request, failure):
        log.failure("web request {path} failed", failure,
                    path=request.path[:200].decode("ascii", "replace"))
        return error_answer(request, 500, "Internal error", "internal error")

    for module in ROUTE_MODULES:
        html[module.__name__.rsplit(".", 1)[-1]] = module.add_routes(app, ctx)
    return app
