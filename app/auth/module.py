"""Sign-in for ``panel serve app/pages/*.py --auth-module app/auth/module.py``.

Bokeh reads these module-level names. ``curvehouse serve`` does the same through
:class:`~app.auth.login.LoginProvider` and also prints the first owner's password; here the
first owner comes from ``CURVEHOUSE_OWNER_PASSWORD`` (or an earlier ``curvehouse serve``).
Invitation links and the REST API are served only by ``curvehouse serve``: ``panel serve``
has no way to add them.
"""

from app.auth.login import LOGIN, LOGOUT, LoginProvider
from app.auth.setup import first_owner
from app.runtime import adopt_curve_projects, metadata_for
from models.settings import get_settings

_store = metadata_for(get_settings())
adopt_curve_projects(get_settings())
first_owner(_store, get_settings())
_provider = LoginProvider(_store)

# The names Bokeh's AuthModule looks for.
get_user_async = _provider.get_user_async
login_url = LOGIN
LoginHandler = _provider.login_handler
logout_url = LOGOUT
LogoutHandler = _provider.logout_handler
