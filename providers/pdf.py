"""HTML printed to PDF by headless Chromium (Debian's, driven by Playwright), as a person's
"Print to PDF" would: A4, backgrounds on, the page's own ``@page`` margins.

The HTML must be self-contained (its images as ``data:`` URIs): the page is given no address,
and every request it would make is refused, so printing never reaches the network.

Playwright's sync API refuses a thread that already runs an asyncio loop (a server's main
thread, or one where another sync Playwright is open), so a Chromium launched here is driven
from a thread of its own, whoever calls. A ``browser`` handed in is used on the caller's thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from providers.errors import ProviderError

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Chromium on a machine without internet: no background traffic, no sandbox as root.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMEOUT_MS = 60_000  # loading and printing one report


def print_pdf(html: str, *, chromium: Path | str, browser: Browser | None = None) -> bytes:
    """``html`` as PDF bytes, printed by the Chromium at ``chromium`` (launched for this call
    and closed after) or by ``browser``. :class:`ProviderError` when no Chromium can print."""
    if browser is not None:
        return _print(browser, html)
    if not Path(chromium).exists():
        raise ProviderError(
            f"No Chromium at {chromium} to print PDFs: install Debian's chromium "
            "(apt-get install chromium) or set CURVEHOUSE_CHROMIUM to its path"
        )
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:  # a deployment without it
        raise ProviderError(
            "Printing PDFs needs the playwright package: pip install playwright"
        ) from None

    def launch_and_print() -> bytes:
        try:
            with sync_playwright() as playwright:
                launched = playwright.chromium.launch(
                    executable_path=str(chromium), args=list(CHROMIUM_ARGS), timeout=TIMEOUT_MS
                )
                try:
                    return _print(launched, html)
                finally:
                    launched.close()
        except Error as exc:
            raise ProviderError(f"Chromium could not print the report: {exc.message}") from exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf") as printer:
        return printer.submit(launch_and_print).result()


def _print(browser: Browser, html: str) -> bytes:
    context = browser.new_context(java_script_enabled=False, offline=True)
    try:
        page = context.new_page()
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="load", timeout=TIMEOUT_MS)
        page.emulate_media(media="print")
        return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    finally:
        context.close()
