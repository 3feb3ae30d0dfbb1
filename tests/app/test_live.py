"""Live ingest as ``serve`` starts it: on Curvehouse's own broker, the broker logs its
refusals and a watch files them (pipelines.live.refusals); on a plant's broker, no watch."""

from __future__ import annotations

import os

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


def test_on_a_plant_broker_projects_take_only_what_their_feeds_read(tmp_path):
    """serve's live ingest on a plant's own mosquitto: the mapped feed's topic commits into its
    project, the project's Curvehouse topic that no feed reads is refused and recorded, and a
    feed mapped while it runs reads within a few seconds."""
    import json
    import time

    import sqlalchemy as sa

    from models.tables import DeadLetter, Organisation, Project
    from tests.pipelines.live.conftest import Gateway
    from tests.pipelines.live.plant import PlantBroker, map_feed
    from tests.pipelines.live.test_listener import curve, wait_for

    _require_mosquitto()
    logins = {"curvehouse": "s-1", "reader": "r-1", "press": "p-1"}
    plant = PlantBroker(
        tmp_path / "plant",
        logins,
        "user curvehouse\ntopic read curvehouse/+/curves\n\nuser reader\ntopic read line4/#\n\n"
        "user press\ntopic write line4/#\ntopic write curvehouse/+/curves\n",
    )
    home = tmp_path / "home"
    try:
        with Services(Settings(home=home, mqtt_url=plant.url("curvehouse"))) as services:
            with services.metadata.sessions() as session:
                session.add(Project(name="press-4", organisation=Organisation(name="Plant")))
                session.commit()
            map_feed(home, "press-4", "line4/+/curves", "reader", logins["reader"])
            live = start_live_ingest(services)
            press = Gateway(plant.port, "press", logins["press"])
            try:
                assert live.broker is None and live.refusals is None
                ((_, feed),) = live.feeds.feeds.running.values()
                wait_for(feed.subscribed.is_set, 30)
                press.publish("line4/st010/curves", json.dumps(curve("P4-1")))
                press.publish("curvehouse/press-4/curves", json.dumps(curve("P4-2")))
                wait_for(lambda: feed.totals.committed == 1, 30)

                def refused() -> list[tuple[str, str]]:
                    with services.metadata.sessions() as session:
                        rows = session.execute(sa.select(DeadLetter.reason, DeadLetter.topic))
                        return [tuple(r) for r in rows]

                wait_for(lambda: refused() == [("not_allowed", "curvehouse/press-4/curves")], 30)
                # The owner maps the Curvehouse topic too: the next one goes in, once.
                map_feed(home, "press-4", "curvehouse/press-4/curves", "curvehouse", "s-1")
                wait_for(lambda: len(live.feeds.feeds.running) == 2, 10)
                newest = live.feeds.feeds.running[max(live.feeds.feeds.running)][1]
                wait_for(newest.subscribed.is_set, 30)
                time.sleep(1.1)  # the watch leaves it to a feed subscribed a second before
                press.publish("curvehouse/press-4/curves", json.dumps(curve("P4-3")))
                wait_for(lambda: newest.totals.committed == 1, 30)
                time.sleep(1)
                assert len(refused()) == 1 and live.listener.totals.passed == 1
            finally:
                press.close()
                live.stop()
            assert not live.feeds.running and not live.feeds.feeds.running
    finally:
        plant.stop()


def test_mqtts_to_a_plant_broker_with_its_own_ca(tmp_path):
    """``mqtts://`` with CURVEHOUSE_MQTT_CA_FILE: the listener, a feed's check and its session
    go over TLS and verify the broker's certificate against the plant's CA; without that CA
    the certificate is refused in words; a CA file that is not there is a settings error."""
    import json

    from models.tables import Organisation, Project
    from pipelines.live.client import Tls
    from pipelines.live.feeds import FeedCheckError, check_feed
    from pipelines.live.listener import ListenerConfig
    from tests.pipelines.live.conftest import Gateway
    from tests.pipelines.live.plant import PlantBroker, map_feed, plant_ca
    from tests.pipelines.live.test_listener import curve, wait_for

    _require_mosquitto()
    tls = plant_ca(tmp_path / "ca")
    logins = {"curvehouse": "s-2", "press": "p-2"}
    acl = "user curvehouse\ntopic read line5/#\n\nuser press\ntopic write line5/#\n"
    # Also on 127.0.0.2, a name the broker's certificate does not hold.
    plant = PlantBroker(
        tmp_path / "plant", logins, acl, tls=tls, addresses=("127.0.0.1", "127.0.0.2")
    )
    home = tmp_path / "home"
    url = plant.url("curvehouse")
    assert url.startswith("mqtts://")
    try:
        with pytest.raises(FeedCheckError, match="CERTIFICATE_VERIFY_FAILED"):
            check_feed(ListenerConfig.from_url(url), "curvehouse", "s-2", "line5/#")
        trusted = ListenerConfig.from_url(url, ca_file=str(tls.ca))
        check_feed(trusted, "curvehouse", "s-2", "line5/#")  # the plant's CA: taken
        elsewhere = ListenerConfig.from_url(url.replace("127.0.0.1", "127.0.0.2"), str(tls.ca))
        with pytest.raises(FeedCheckError, match=r"Hostname mismatch|IP address mismatch"):
            check_feed(elsewhere, "curvehouse", "s-2", "line5/#")
        with pytest.raises(ValueError, match=r"MQTT_CA_FILE .* not a file"):
            Settings(home=home, mqtt_url=url, mqtt_ca_file=tmp_path / "missing.pem")
        settings = Settings(home=home, mqtt_url=url, mqtt_ca_file=tls.ca)
        with Services(settings) as services:
            with services.metadata.sessions() as session:
                session.add(Project(name="press-5", organisation=Organisation(name="Plant")))
                session.commit()
            map_feed(home, "press-5", "line5/+/curves", "curvehouse", "s-2")
            live = start_live_ingest(services)
            press = Gateway(plant.port, "press", "p-2", tls=Tls(str(tls.ca)))
            try:
                assert live.config.tls == Tls(str(tls.ca))
                ((_, feed),) = live.feeds.feeds.running.values()
                wait_for(feed.subscribed.is_set, 30)
                assert press.connected.wait(30) and not press.refused
                press.publish("line5/st020/curves", json.dumps(curve("P5-1")))
                wait_for(lambda: feed.totals.committed == 1, 30)
            finally:
                press.close()
                live.stop()
    finally:
        plant.stop()


def test_curves_published_for_a_project_homed_on_a_cluster_are_committed_there(tmp_path):
    """The listener as serve runs it routes a project's messages to the project's home: a
    project living on a real embedded cluster gets its live curves on that cluster's node,
    none in the built-in engine."""
    import json

    import sqlalchemy as sa

    from app.clusters.lifecycle import create_cluster, delete_cluster
    from models.tables import Organisation, Project
    from pipelines.live.broker import Publisher
    from tests.app.clusters.test_lifecycle import ACTOR, request
    from tests.app.clusters.waiting import wait_until
    from tests.pipelines.live.conftest import Gateway
    from tests.pipelines.live.test_listener import curve, wait_for

    _require_mosquitto()
    with Services(Settings(home=tmp_path, mqtt_port=0)) as services:
        store, settings = services.metadata, services.settings
        with store.sessions() as session:
            project = Project(name="line-c", organisation=Organisation(name="Plant"))
            session.add(project)
            session.commit()
            project_id = project.id
        made = create_cluster(
            store=store, settings=settings, request=request(project_id), actor=ACTOR
        )
        try:
            ready = wait_until(
                store=store, settings=settings, cluster_id=made.id, states={"running", "failed"}
            )
            assert ready.status == "running"
            with store.sessions() as session:
                session.get(Project, project_id).home_cluster_id = made.id
                session.commit()
            gateway = Publisher("gw-c", "gw-c-secret", "line-c")
            live = start_live_ingest(services, publishers=[gateway])
            press = Gateway(live.config.port, "gw-c", "gw-c-secret")
            try:
                assert press.connected.wait(30) and not press.refused
                press.publish("curvehouse/line-c/curves", json.dumps(curve("C-1")))
                wait_for(lambda: live.listener.totals.committed == 1, 60)
            finally:
                press.close()
                live.stop()
            home = services.homes.of("line-c")
            assert home.cluster_id == made.id
            on_cluster = services.homes.store(home, project="line-c")
            builtin = services.homes.store(services.homes.builtin, project="line-c")
            try:
                count = "SELECT count() FROM {db:Identifier}.curves WHERE project = 'line-c'"
                assert on_cluster.client.query(
                    count, parameters={"db": on_cluster.database}
                ).result_rows == [(1,)]
                assert builtin.client.query(
                    count, parameters={"db": builtin.database}
                ).result_rows == [(0,)]
            finally:
                on_cluster.client.close()
                builtin.client.close()
        finally:
            with store.sessions() as session:
                session.execute(sa.update(Project).values(home_cluster_id=None))
                session.commit()
            delete_cluster(store=store, settings=settings, cluster_id=made.id, actor=ACTOR)


def test_serve_beside_a_listener_of_its_home_serves_without_live_ingest(tmp_path, capsys):
    """``curvehouse serve`` started while ``curvehouse listen`` takes the home's live curves:
    it says why its own live ingest is off, and serves on (no broker started)."""
    from app.server import _live_ingest
    from pipelines.live.claim import claim_listening

    held = claim_listening(tmp_path.absolute())
    try:
        with Services(Settings(home=tmp_path, mqtt_port=0, simulate=False)) as services:
            assert _live_ingest(services) == (None, None)
    finally:
        held.release()
    said = capsys.readouterr().out
    assert said.startswith(f"Live ingest is off here: PID {os.getpid()} (")
    assert "install mosquitto" not in said  # not the missing-broker advice
    assert not (tmp_path / "broker" / "mosquitto.pid").exists()
