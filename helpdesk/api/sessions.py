"""Requests under /api never see the session cookie: the app's session interface hands them an
empty session that is never saved. App-wide hooks that read the session (the forced two-factor
set-up's redirect, Flask-Login) therefore treat an API request as signed out, whatever cookie a
browser sent, and the API's own check (auth.py: the bearer token, or 401) decides alone."""

from flask.sessions import SecureCookieSession


class ApiSession(SecureCookieSession):
    """An API request's session: empty, and dropped at the end of the request."""


class SessionlessApi:
    """Wraps the app's session interface: `prefix` (the API's paths) gets an ApiSession; every
    other request, and everything else the interface does, is the wrapped interface's."""

    def __init__(self, inner, prefix):
        self.inner, self.prefix = inner, prefix

    def open_session(self, app, request):
        if request.path.startswith(self.prefix):
            return ApiSession()
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response):
        if isinstance(session, ApiSession):
            return None  # nothing written: no Set-Cookie from the API
        return self.inner.save_session(app, session, response)

    def __getattr__(self, name):
        return getattr(self.inner, name)
