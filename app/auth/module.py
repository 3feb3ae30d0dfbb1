"""Sign-in for ``panel serve app/pages/*.py --auth-module app/auth/module.py``.

Bokeh reads these module-level names. ``curvehouse serve`` does the same through
:class:`~app.auth.login.LoginProvider` and also prints the first owner's password; here the
first owner comes from ``CURVEHOUSE_OWNER_PASSWORD`` (or an earlier ``curvehouse serve``).
Invitation links and the REST API are served only by ``curvehouse serve``: ``panel serve``
has no way to add them.
"""

from app.auth.login import LOGIN, LOGOUT, LoginProvider
from app.auth.setup import first_owner
from app.pages import panel_serve_services
from pipelines.projects import adopt_curve_projects

_services = panel_serve_services()  # the same the pages use: this module runs in their process
with _services.curves() as _curves, _services.metadata.sessions() as _session:
    adopt_curve_projects(session=_session, curves=_curves)
    _session.commit()
first_owner(_services.metadata, _services.settings)
_provider = LoginProvider(_services.metadata)

# The names Bokeh's AuthModule looks for.
get_user_async = _provider.get_user_async
login_url = LOGIN
LoginHandler = _provider.login_handler
logout_url = LOGOUT
LogoutHandler = _provider.logout_handler
