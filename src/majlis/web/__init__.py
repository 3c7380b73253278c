"""Browser pages for listeners and speakers; ``install_web(app)`` adds them to the ASGI app."""

from majlis.web.install import install_web

__all__ = ["install_web"]
