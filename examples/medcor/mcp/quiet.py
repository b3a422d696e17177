"""fastmcp imports authlib APIs that authlib marks deprecated, and authlib turns its
own deprecation warnings to "always": two warnings at every start that say nothing
about this server. Silence exactly those (after authlib set its filter)."""

import contextlib
import warnings


def quiet_authlib() -> None:
    with contextlib.suppress(ImportError):
        from authlib.deprecate import AuthlibDeprecationWarning

        warnings.filterwarnings("ignore", category=AuthlibDeprecationWarning)
