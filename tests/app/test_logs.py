"""Secret query parameters are redacted from Tornado's log records."""

import logging

from app.logs import RedactSecrets, install, redact


def test_secret_parameters_are_redacted_and_others_kept():
    line = (
        "401 GET /api/me?token=chp_s3cr3t&limit=5 (127.0.0.1) 0.52ms | "
        "/login?next=%2Fcurves%3Ftoken%3Dabc%26x%3D1&password=pw&api_key=k;code=c#top"
    )
    cleaned = redact(line)
    for secret in ("chp_s3cr3t", "abc", "=pw", "=k", "=c#"):
        assert secret not in cleaned
    assert "limit=5" in cleaned and "x%3D1" in cleaned and "token=***" in cleaned


def test_the_filter_rewrites_tornados_records():
    install()
    install()  # once is enough; twice changes nothing
    logger = logging.getLogger("tornado.access")
    assert sum(isinstance(f, RedactSecrets) for f in logger.filters) == 1
    record = logger.makeRecord(
        "tornado.access", logging.WARNING, __file__, 1, "%d %s", (401, "GET /x?token=t0k"), None
    )
    assert logger.filter(record)
    assert record.getMessage() == "401 GET /x?token=***"
