"""Serve only the REST API, ``app.api.routes``, the way the tests reach it: a real Tornado
HTTP server in its own process (chDB allows one engine per process), on ``--port``, with its
data in ``CURVEHOUSE_HOME``."""

from __future__ import annotations

import argparse
import asyncio

import tornado.web

from app.api import routes
from app.services import Services
from models.settings import Settings


async def serve(port: int) -> None:
    services = Services(Settings.from_env())
    services.open_store()  # migrate the curve schema and keep the engine open, as `serve` does
    # XSRF checking on, as for the browser forms: the API must not depend on it being off.
    app = tornado.web.Application(routes(services), xsrf_cookies=True)
    app.listen(port, address="127.0.0.1")
    print(f"API at http://127.0.0.1:{port}/api", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
