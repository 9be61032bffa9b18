"""The only module that knows htmx's header names."""

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Response, flash, redirect, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def page_path() -> str | None:
    """The page a request was made from, as a path and query on this site: for htmx, the
    page the request came from (a row's POST, a search's fragment are no page to go back
    to); else the address itself when it is one the browser can ask for again; else None."""
    try:
        current = urlsplit(request.headers.get("HX-Current-URL", "")) if is_htmx() else None
    except ValueError:  # not an address ("http://[")
        current = None
    if current and current.path.startswith("/"):
        return current.path + (f"?{current.query}" if current.query else "")
    return request.full_path.rstrip("?") if request.method == "GET" else None


def redirect_response(location: str) -> Response:
    """Send the browser itself to a new page, whatever element made the request."""
    response = Response(status=204)
    response.headers["HX-Redirect"] = location
    return response


def trigger(response: Response, event: str) -> Response:
    response.headers["HX-Trigger"] = event
    return response


def retarget(response: Response, target: str, swap: str = "outerHTML") -> Response:
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response


def after_request(response: Response) -> Response:
    """A redirect answering htmx becomes HX-Redirect: never a login page inside a table cell."""
    if is_htmx() and response.status_code in (301, 302, 303, 307, 308):
        redirected = redirect_response(response.headers["Location"])
        for cookie in response.headers.getlist("Set-Cookie"):
            redirected.headers.add("Set-Cookie", cookie)
        response = redirected
    response.vary.add("HX-Request")
    return response


def render(template: str, block: str | None = None, status: int = 200, **context):
    """One URL, two renders: the whole page, or for htmx just the named block of it."""
    from flask import render_template

    from .templating import render_block

    if block and is_htmx():
        return render_block(template, block, **context), status
    return render_template(template, **context), status


def push_url(response: Response, url: str) -> Response:
    """Record the step a wizard moved to, so reload and Back land on it."""
    response.headers["HX-Push-Url"] = url
    return response


def fragment_or_redirect(
    location: str,
    fragment: Callable[[], object] | None,
    message: str | None = None,
    ok: bool = True,
):
    """After a change: for htmx, the fragment that shows it; for a plain form post (or when
    there is nothing left to show in place: fragment None), the page at `location` again,
    with `message` flashed."""
    if fragment is not None and is_htmx():
        return fragment()
    if message:
        flash(message, "success" if ok else "error")
    return redirect(location)
