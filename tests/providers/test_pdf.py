"""Shift reports printed to PDF by Debian's chromium, read back with PDFium: the text holds the
shift's parts and first-pass yield as pandas counts them from the stored rows, the figures are
printed (not left blank), and printing fetches nothing from the network."""

from __future__ import annotations

import base64
import http.server
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from models.settings import Settings
from pipelines.reports import ReportDefinition, render_shift_report
from providers.errors import ProviderError
from providers.pdf import print_pdf
from tests.pipelines.reports.demo import SHIFT, shift_figures, shift_rows, stored_demo

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "reports"
CHROMIUM = Settings().chromium


def printed(html: str) -> bytes:
    """Printed on a worker thread, as the API prints: Playwright's sync API wants a thread of
    its own, and this process may already run a browser on the main one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(print_pdf, html, chromium=CHROMIUM).result(timeout=180)


def read_pdf(data: bytes, save_as: str = "") -> tuple[str, list[np.ndarray]]:
    """The PDF's text (whitespace folded) and each page as an RGB array; the pages saved as
    PNGs under artifacts/reports/ when ``save_as`` names them."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    texts, images = [], []
    try:
        for number in range(len(document)):
            page = document[number]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            picture = page.render(scale=1.5).to_pil().convert("RGB")
            if save_as:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                picture.save(ARTIFACTS / f"{save_as}-page{number + 1}.png")
            images.append(np.asarray(picture))
            textpage.close()
            page.close()
    finally:
        document.close()
    return re.sub(r"\s+", " ", " ".join(texts)), images


def report_figures(html: str) -> list[np.ndarray]:
    """The report's pictures (``data:`` PNGs), as RGB arrays."""
    return [
        np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
        for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    ]


def placed_images(data: bytes, scale: float = 1.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each image the PDF embeds, as stored, with what the page rendered at ``scale`` shows
    where it is placed."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(data)
    found = []
    try:
        for number in range(len(document)):
            page = document[number]
            height = page.get_height()
            shown = np.asarray(page.render(scale=scale).to_pil().convert("RGB"))
            for image in page.get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE]):
                left, bottom, right, top = image.get_bounds()
                box = shown[
                    round((height - top) * scale) : round((height - bottom) * scale),
                    round(left * scale) : round(right * scale),
                ]
                stored = np.asarray(image.get_bitmap(render=False).to_pil().convert("RGB"))
                found.append((stored, box))
            page.close()
    finally:
        document.close()
    return found


def _likeness(seen: np.ndarray, figure: np.ndarray) -> float:
    """Correlation of ink between a page's pixels and a figure scaled to them."""
    scaled = Image.fromarray(figure).resize((seen.shape[1], seen.shape[0]), Image.LANCZOS)
    ink = [255 - np.asarray(a, float).mean(axis=2).ravel() for a in (seen, scaled)]
    return float(np.corrcoef(*ink)[0, 1])


def test_no_chromium_is_a_plain_error(tmp_path):
    with pytest.raises(ProviderError, match=r"No Chromium at .*apt-get install chromium"):
        print_pdf("<p>x</p>", chromium=tmp_path / "chromium")


needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM}")


@pytest.mark.ui
@pytest.mark.integration
@needs_chromium
def test_a_shift_reports_pdf_shows_the_shifts_figures(embedded_provider):
    with stored_demo(embedded_provider) as (curves, rows):
        made = datetime(2026, 11, 17, 7, 0, tzinfo=UTC)
        report = render_shift_report(curves, ReportDefinition("demo", SHIFT), made=made)
    expected = shift_figures(shift_rows(rows))
    data = printed(report.html)
    assert data.startswith(b"%PDF-")
    text, pages = read_pdf(data, save_as="shift-report")
    assert f"{expected['parts']:,} Parts" in text
    assert f"{100 * expected['first_pass_yield']:.1f} % First-pass yield" in text
    assert f"{expected['nok_parts']:,} NOK parts" in text
    assert "From 2026-11-16 15:00 to 2026-11-16 23:00 (Europe/Berlin)" in text
    # The density figures are pictures: seen in the pixels. Every page carries ink, and the
    # pages after the first the blue counts of a density, far from grey text on white paper.
    assert len(pages) >= 2
    inked = [float((page.min(axis=2) < 200).mean()) for page in pages]
    assert min(inked) > 0.005, inked
    coloured = [float((np.ptp(page.astype(int), axis=2) > 60).mean()) for page in pages[1:]]
    assert min(coloured) > 0.001, coloured
    # Each process's figure is in the PDF as the report drew it, in order, and the printed
    # page's image shows it where the PDF places it: its best match among the figures.
    figures = report_figures(report.html)
    assert len(figures) == len(expected["processes"])
    placed = placed_images(data)
    assert [image.shape for image, _ in placed] == [f.shape for f in figures]
    for n, ((image, seen), figure) in enumerate(zip(placed, figures, strict=True)):
        np.testing.assert_array_equal(image, figure)
        likeness = [_likeness(seen, other) for other in figures]
        assert max(likeness) == likeness[n] >= 0.7, likeness


@pytest.mark.ui
@needs_chromium
def test_printing_fetches_nothing_from_the_network():
    asked: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        html = (
            f"<link rel=stylesheet href='{base}/style.css'><p>Shift A</p>"
            f"<img src='{base}/tracker.png'><script src='{base}/x.js'></script>"
        )
        text, _ = read_pdf(printed(html))
    finally:
        server.shutdown()
        server.server_close()
    assert "Shift A" in text
    assert asked == []
