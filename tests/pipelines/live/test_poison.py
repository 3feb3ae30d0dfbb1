"""A message no commit can take (the engine answers, but refuses it every time) must not hold
up the good ones behind it: after a few failed attempts the batch is committed message by
message, and the refused one becomes a ``commit_failed`` dead letter with the engine's words.

The refusal is played by a store that refuses one curve key (as an engine refuses a value its
column cannot hold); the broker, the listener, the engine and the metadata store are real."""

from __future__ import annotations

import json

import pytest

from pipelines.curves import Curves
from pipelines.live.listener import MqttListener
from pipelines.store import CurveStore
from tests.pipelines.live.test_listener import (
    TOPIC,
    curve,
    dead_letters,
    start_listener,
    wait_for,
)

pytestmark = pytest.mark.integration


class RefusesOneKey(CurveStore):
    def write(self, batches, spec, **options):
        batches = list(batches)
        if any("POISON" in b.meta["curve_key"].tolist() for b in batches):
            raise ValueError("Code: 53. Type mismatch in a column (played by the test)")
        return super().write(batches, spec, **options)


def test_a_message_the_engine_always_refuses_is_a_dead_letter_and_the_rest_commit(
    broker,
    gateway,
    sessions,
    curve_store,
    monkeypatch,
):
    monkeypatch.setattr(MqttListener, "RETRY_SECONDS", 0.1)
    store = RefusesOneKey(curve_store.client, curve_store.database)
    listener = start_listener(broker, sessions, store, batch_seconds=0.5)
    try:
        for key in ("A", "POISON", "B"):
            gateway.publish(TOPIC, json.dumps(curve(key)))
        wait_for(lambda: listener.totals.committed == 2, timeout=60)
        gateway.publish(TOPIC, json.dumps(curve("C")))  # the stream goes on
        wait_for(lambda: listener.totals.committed == 3, timeout=30)
    finally:
        listener.stop()
    assert listener.failures >= MqttListener.ALONE_AFTER
    keys = Curves(curve_store.client, curve_store.database).metadata()["curve_key"]
    assert sorted(keys) == ["A", "B", "C"]
    ((reason, key, project, detail),) = dead_letters(sessions)
    assert (reason, project) == ("commit_failed", "demo")
    assert "Type mismatch" in detail
