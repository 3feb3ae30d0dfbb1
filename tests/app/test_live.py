"""Live ingest as ``serve`` starts it: on Curvehouse's own broker, the broker logs its
refusals and a watch files them (pipelines.live.refusals); on a plant's broker, no watch."""

from __future__ import annotations

import pytest

from app.live import start_live_ingest
from app.services import Services
from models.settings import Settings
from tests.pipelines.live.conftest import _require_mosquitto

pytestmark = pytest.mark.integration


def test_the_own_broker_comes_with_its_refusals_watched(tmp_path):
    _require_mosquitto()
    with Services(Settings(home=tmp_path, mqtt_port=0)) as services:
        live = start_live_ingest(services)
        try:
            assert live.broker is not None and live.broker.log_refusals
            assert "log_type debug" in live.broker.config_path.read_text()
            assert live.refusals is not None and live.refusals.running
            assert live.refusals.watch.log.path == live.broker.log_path
            assert live.refusals.cycle() == 0  # the broker's start refused nothing
        finally:
            live.stop()
