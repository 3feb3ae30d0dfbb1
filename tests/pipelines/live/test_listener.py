"""The listener against a real mosquitto and the embedded engine: publish → committed curves
readable through Curves; duplicates skipped; conflicts and bad messages dead-lettered while
the good ones behind them commit."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import sqlalchemy as sa

from models.tables import DeadLetter
from pipelines.curves import Curves
from pipelines.live.broker import SERVICE_USER
from pipelines.live.listener import ListenerConfig, MqttListener
from pipelines.live.sink import StoreSink

TOPIC = "curvehouse/demo/curves"


def curve(key: str, n: int = 50, scale: float = 1.0, **fields) -> dict:
    x = np.linspace(0, 1, n)
    return {"curve_key": key, "x": x.tolist(), "y": (scale * x**2).tolist(), **fields}


def start_listener(
    broker, sessions, store, batch_seconds: float = 0.2, on_batch=None, **options
) -> MqttListener:
    """A listener on the embedded broker committing into ``store``, subscribed; ``options``
    of its :class:`ListenerConfig` (100 curves a batch unless said)."""
    config = ListenerConfig(
        host="127.0.0.1",
        port=broker.port,
        username=SERVICE_USER,
        password=broker.service_secret(),
        batch_seconds=batch_seconds,
        **{"batch_curves": 100, **options},
    )
    sink = StoreSink(sessions, lambda project: store)
    running = MqttListener(config, sink, on_batch=on_batch).start()
    assert running.subscribed.wait(30), running.refused
    return running


@pytest.fixture
def listener(broker, sessions, curve_store):
    running = start_listener(broker, sessions, curve_store)
    yield running
    running.stop()


def wait_for(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def dead_letters(sessions) -> list[tuple]:
    with sessions() as session:
        rows = session.scalars(sa.select(DeadLetter).order_by(DeadLetter.id)).all()
        return [(r.reason, r.curve_key, r.project_name, r.detail) for r in rows]


@pytest.mark.integration
def test_published_curves_are_committed_and_readable(listener, gateway, curve_store):
    gateway.publish(TOPIC, json.dumps(curve("P-1/ST010", station="ST010", result="NOK")))
    gateway.publish(TOPIC, json.dumps([curve("P-2/ST010"), curve("P-3/ST010")]))
    wait_for(lambda: listener.totals.committed == 3)
    curves = Curves(curve_store.client, curve_store.database, projects=("demo",))
    meta = curves.metadata().sort_values("curve_key")
    assert meta["curve_key"].tolist() == ["P-1/ST010", "P-2/ST010", "P-3/ST010"]
    assert meta["result"].tolist() == ["NOK", "UNKNOWN", "UNKNOWN"]
    one = curves.curve(int(meta["curve_id"].iloc[0]))
    np.testing.assert_allclose(one.y, np.linspace(0, 1, 50) ** 2, atol=1e-6)
    datasets = curves.datasets()
    assert datasets["curve_count"].sum() == 3
    assert len(datasets) <= 2  # micro-batches, not one dataset per curve


@pytest.mark.integration
def test_duplicates_skip_conflicts_and_bad_messages_are_dead_letters(
    listener, gateway, sessions, curve_store
):
    gateway.publish(TOPIC, json.dumps(curve("A")))
    wait_for(lambda: listener.totals.committed == 1)
    gateway.publish(TOPIC, json.dumps(curve("A")))  # same key, same samples: skipped
    gateway.publish(TOPIC, json.dumps(curve("A", scale=2)))  # same key, other samples
    gateway.publish(TOPIC, b"{not json")
    gateway.publish(TOPIC, b'{"curve_key": "N", "x": [0, NaN], "y": [1, 2]}')
    gateway.publish(TOPIC, json.dumps(curve("B", x=[0, 1])))  # x and y of different lengths
    gateway.publish(TOPIC, json.dumps({"curve_key": "C", "x": [0, 1]}))  # y missing
    gateway.publish(TOPIC, json.dumps(curve("E")))  # good, behind all the bad ones
    wait_for(lambda: listener.totals.committed == 2 and len(dead_letters(sessions)) == 5)
    assert listener.totals.skipped == 1
    reasons = sorted((reason, key) for reason, key, _, _ in dead_letters(sessions))
    assert reasons == [
        ("bad_field", "B"),
        ("bad_field", "C"),
        ("conflict", "A"),
        ("not_finite", None),
        ("not_json", None),
    ]
    conflict = next(d for d in dead_letters(sessions) if d[0] == "conflict")
    assert "already stored in project 'demo' with different samples" in conflict[3]
    keys = Curves(curve_store.client, curve_store.database).metadata()["curve_key"]
    assert sorted(keys) == ["A", "E"]


@pytest.mark.integration
def test_a_topic_of_no_project_is_a_dead_letter(broker, listener, sessions):
    from pipelines.live.broker import Publisher
    from tests.pipelines.live.conftest import PUBLISHER, Gateway

    broker.reload([PUBLISHER, Publisher("gw-x", "x-secret", "ghost")])
    gw = Gateway(broker.port, "gw-x", "x-secret")
    try:
        assert gw.connected.wait(30) and not gw.refused
        gw.publish("curvehouse/ghost/curves", json.dumps(curve("G")))
        wait_for(lambda: dead_letters(sessions))
    finally:
        gw.close()
    ((reason, key, project, detail),) = dead_letters(sessions)
    assert (reason, key, project) == ("unknown_project", None, "ghost")
    assert "no project is named 'ghost'" in detail


def test_live_curves_are_datasets_of_their_own_kind(listener, gateway, curve_store):
    gateway.publish(TOPIC, json.dumps(curve("K-1")))
    wait_for(lambda: listener.totals.committed == 1)
    kinds = curve_store.client.query(f"SELECT kind, source FROM {curve_store.db}.datasets")
    assert kinds.result_rows == [("live", TOPIC.join(("mqtt:", "")))]


@pytest.mark.integration
def test_messages_are_read_on_arrival_and_the_commit_does_not_read_them_again(
    broker, sessions, curve_store, gateway, monkeypatch
):
    """The payload is read while the message waits for its batch, so the acknowledgement,
    which waits for the commit, does not wait for the reading too."""
    import pipelines.live.commit as commit

    read_by_commit = []
    read = commit.parse_message
    monkeypatch.setattr(
        commit, "parse_message", lambda *a, **k: read_by_commit.append(1) or read(*a, **k)
    )
    running = start_listener(broker, sessions, curve_store)
    try:
        gateway.publish(TOPIC, json.dumps([curve("R-1"), curve("R-2")]))
        gateway.publish(TOPIC, b"{not json")
        wait_for(lambda: running.totals.committed == 2 and len(dead_letters(sessions)) == 1)
    finally:
        running.stop()
    assert read_by_commit == []


@pytest.mark.integration
def test_a_commit_takes_at_most_batch_curves_messages(broker, sessions, curve_store, gateway):
    """Twelve messages published at once with batch_curves=5 and a long batch_seconds: the
    commits take 5, 5 and 2, not one of 12."""
    sizes = []
    running = start_listener(
        broker,
        sessions,
        curve_store,
        batch_seconds=3.0,
        on_batch=lambda outcome, _s: sizes.append(outcome.committed),
        batch_curves=5,
    )
    try:
        for i in range(12):
            gateway.publish(TOPIC, json.dumps(curve(f"B-{i}")))
        wait_for(lambda: running.totals.committed == 12, 30)
    finally:
        running.stop()
    assert max(sizes) <= 5 and sum(sizes) == 12 and len(sizes) >= 3


@pytest.mark.integration
def test_a_message_over_the_size_limit_is_a_dead_letter_and_the_next_commits(
    broker, sessions, curve_store, gateway
):
    running = start_listener(broker, sessions, curve_store, max_bytes=2048)
    try:
        gateway.publish(TOPIC, json.dumps(curve("BIG", n=400)))  # about 15 KB
        gateway.publish(TOPIC, json.dumps(curve("SMALL", n=5)))
        wait_for(lambda: running.totals.committed == 1 and dead_letters(sessions), 30)
    finally:
        running.stop()
    ((reason, _, project, detail),) = dead_letters(sessions)
    assert (reason, project) == ("too_large", "demo") and "at most 2,048 are read" in detail
    keys = Curves(curve_store.client, curve_store.database).metadata()["curve_key"]
    assert list(keys) == ["SMALL"]


@pytest.mark.integration
def test_curves_arriving_live_commit_their_configured_features(
    broker, sessions, gateway, curve_store
):
    """A live micro-batch stores the project's configured features with its curves, as an
    import does (the listener's store is the project's home, which knows them)."""
    from pipelines.features import Configured

    force = Configured(7, "press-fit", "y_at_x", 0.5, name="force at 0.5")
    curve_store.configured = lambda project, processes: [
        f for f in [force] if f.process in processes
    ]
    running = start_listener(broker, sessions, curve_store)
    try:
        gateway.publish(TOPIC, json.dumps(curve("F-1", process="press-fit")))
        gateway.publish(TOPIC, json.dumps(curve("F-2", process="screwdriving")))
        wait_for(lambda: running.totals.committed == 2)
    finally:
        running.stop()
    rows = curve_store.client.query(
        f"SELECT feature_id, value FROM {curve_store.db}.curve_feature_values"
    ).result_rows
    # y = x² at x = 0.5 (linear between the samples around it), for the press-fit curve only
    assert rows == [(7, pytest.approx(0.25, abs=1e-3))]


@pytest.mark.integration
def test_curves_arriving_live_commit_their_fixed_features(broker, sessions, gateway, curve_store):
    """Every curve a live micro-batch commits has its one ``curve_features`` row, in its dataset,
    with the fixed features of its own stored samples, as an imported curve has."""
    from pipelines.kernels.features import FEATURES
    from tests.pipelines.features_reference import reference_features

    back = np.r_[np.linspace(0, 2, 30), np.linspace(2, 0.5, 20)]  # a press loading, retracting
    running = start_listener(broker, sessions, curve_store)
    try:
        gateway.publish(TOPIC, json.dumps(curve("X-1", process="press-fit", station="ST010")))
        gateway.publish(  # two curves in one message, of other shapes and lengths
            TOPIC,
            json.dumps(
                [
                    curve("X-2", n=7, scale=-3.5, process="screwdriving"),
                    {"curve_key": "X-3", "x": back.tolist(), "y": (4 * np.sin(back)).tolist()},
                ]
            ),
        )
        wait_for(lambda: running.totals.committed == 3)
        gateway.publish(TOPIC, json.dumps(curve("X-4", n=400, scale=12.0)))  # a later batch
        wait_for(lambda: running.totals.committed == 4)
    finally:
        running.stop()
    db = curve_store.db
    committed = curve_store.client.query_df(
        f"SELECT curve_id, curve_key, project, process, toString(dataset_id) AS dataset_id "
        f"FROM {db}.curves"
    ).set_index("curve_id")
    features = curve_store.client.query_df(
        f"SELECT curve_id, project, process, toString(dataset_id) AS dataset_id, "
        f"{', '.join(FEATURES)} FROM {db}.curve_features"
    )
    assert sorted(committed["curve_key"]) == ["X-1", "X-2", "X-3", "X-4"]
    assert sorted(features["curve_id"]) == sorted(committed.index)  # one row each, no more
    curves = Curves(curve_store.client, curve_store.database)
    for row in features.itertuples(index=False):
        mine = committed.loc[row.curve_id]
        assert (row.project, row.process, row.dataset_id) == (
            mine["project"],
            mine["process"],
            mine["dataset_id"],
        ), mine["curve_key"]
        one = curves.curve(int(row.curve_id))
        want = reference_features(np.asarray(one.x, float), np.asarray(one.y, float))
        got = {name: getattr(row, name) for name in FEATURES}
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), mine["curve_key"]
    # The features are the published curves': y = x² on [0, 1] has area 1/3 (quantised).
    x1 = features.set_index("curve_id").loc[committed.index[committed["curve_key"] == "X-1"][0]]
    assert (x1["peak_y"], x1["final_x"], x1["sample_count"]) == pytest.approx((1.0, 1.0, 50))
    assert x1["area"] == pytest.approx(1 / 3, abs=1e-3)
