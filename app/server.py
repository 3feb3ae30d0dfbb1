"""Serving: the same page factories for ``curvehouse serve`` and ``panel serve app/pages/*.py``."""

from __future__ import annotations

import panel as pn

from app.pages import home
from app.runtime import open_store
from models.settings import Settings

# URL slug -> factory building a fresh page per session.
PAGES = {"": home.page}


def serve(settings: Settings, *, show: bool = False, origins: tuple[str, ...] = ()) -> None:
    """Serve every page; ``origins`` are extra host:port values browsers may connect from."""
    open_store(settings)  # migrate and sweep once, before the first session
    print(f"Curvehouse at http://{settings.address}:{settings.port}/ (Ctrl+C to stop)", flush=True)
    pn.serve(
        PAGES,
        port=settings.port,
        address=settings.address,
        show=show,
        title="Curvehouse",
        websocket_origin=[
            f"{settings.address}:{settings.port}",
            f"localhost:{settings.port}",
            *origins,
        ],
        print_url=False,
    )
