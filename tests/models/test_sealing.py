"""Cluster passwords are encrypted at rest, with a key kept outside the metadata store.

Issue 13, item 13: ``curvehouse.db`` held every cluster's password in clear (a node's password
in its handle, a server's in its URL), so whoever could read the file could open every cluster.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from models import accounts
from models.sealing import SecretKeyError
from models.settings import Settings, SettingsError
from models.store import open_metadata
from models.tables import Cluster, ClusterStatus, ProviderKey

NODE_PASSWORD = "node-pw-9f3c1d7e"
URL_PASSWORD = "url-pw-51aa0b8c"
CONFIG = {
    "handle": {"key": "c1", "port": 18123, "password": NODE_PASSWORD},
    "options": {"url": f"http://admin:{URL_PASSWORD}@ch.plant.example:8123"},
    "ip_access": ["127.0.0.1/32"],
}


def add_cluster(store, config=CONFIG) -> int:
    with store.sessions() as session:
        project = accounts.default_project(session)
        cluster = Cluster(
            project=project,
            name="press-dev",
            type_key="development",
            provider=ProviderKey.EMBEDDED,
            region="local",
            nodes=1,
            vcpu_per_node=4,
            memory_gib_per_node=16,
            status=ClusterStatus.RUNNING,
            provider_config=config,
        )
        session.add(cluster)
        session.commit()
        return cluster.id


def stored_bytes(home) -> bytes:
    return b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith("curvehouse.db"))


def test_a_clusters_passwords_are_not_in_the_store_file_and_read_back(tmp_path):
    settings = Settings(home=tmp_path)
    with open_metadata(settings) as store:
        cluster_id = add_cluster(store)
    raw = stored_bytes(tmp_path)
    assert b"press-dev" in raw  # the file is the store
    assert NODE_PASSWORD.encode() not in raw and URL_PASSWORD.encode() not in raw
    key = tmp_path / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with open_metadata(settings) as store, store.sessions() as session:
        assert session.get(Cluster, cluster_id).provider_config == CONFIG


def test_a_change_to_the_config_is_sealed_too(tmp_path):
    settings = Settings(home=tmp_path)
    with open_metadata(settings) as store:
        cluster_id = add_cluster(store, {"handle": {"key": "c1"}})
        with store.sessions() as session:
            cluster = session.get(Cluster, cluster_id)
            cluster.provider_config["handle"] = {"key": "c1", "password": NODE_PASSWORD}
            session.commit()
        with store.sessions() as session:
            assert session.get(Cluster, cluster_id).provider_config["handle"]["password"] == (
                NODE_PASSWORD
            )
    assert NODE_PASSWORD.encode() not in stored_bytes(tmp_path)


def test_passwords_an_older_curvehouse_stored_in_clear_are_sealed_at_open(tmp_path):
    settings = Settings(home=tmp_path)
    with open_metadata(settings) as store:
        cluster_id = add_cluster(store, {})
        with store.engine.begin() as connection:  # as a Curvehouse before sealing left it
            connection.execute(
                sa.text("UPDATE clusters SET provider_config = :c WHERE id = :i"),
                {"c": json.dumps(CONFIG), "i": cluster_id},
            )
    assert NODE_PASSWORD.encode() in stored_bytes(tmp_path)
    with open_metadata(settings) as store, store.sessions() as session:
        assert session.get(Cluster, cluster_id).provider_config == CONFIG
    assert NODE_PASSWORD.encode() not in stored_bytes(tmp_path)
    assert URL_PASSWORD.encode() not in stored_bytes(tmp_path)


def test_a_wrong_or_missing_key_is_a_clear_error_not_a_crash(tmp_path):
    settings = Settings(home=tmp_path)
    with open_metadata(settings) as store:
        add_cluster(store)
    other = Settings(home=tmp_path, secret_key=Fernet.generate_key().decode())
    with pytest.raises(SecretKeyError, match="another key") as wrong:
        open_metadata(other)
    assert other.secret_key.get_secret_value() not in str(wrong.value)
    (tmp_path / "secret.key").rename(tmp_path / "moved.key")
    with pytest.raises(SecretKeyError, match=r"secret\.key"):
        open_metadata(settings)
    assert not (tmp_path / "secret.key").exists()  # no new key was made in its place
    moved = Settings(home=tmp_path, secret_key_file=tmp_path / "moved.key")
    with open_metadata(moved) as store, store.sessions() as session:
        assert session.scalars(sa.select(Cluster)).one().provider_config == CONFIG


def test_the_key_can_live_apart_from_the_store_and_rotate(tmp_path):
    apart = tmp_path / "secrets-volume" / "curvehouse.key"
    settings = Settings(home=tmp_path / "home", secret_key_file=apart)
    with open_metadata(settings) as store:
        cluster_id = add_cluster(store)
    assert apart.exists() and not (tmp_path / "home" / "secret.key").exists()
    old = apart.read_text().strip()
    new = Fernet.generate_key().decode()
    rotated = Settings(home=tmp_path / "home", secret_key=f"{new},{old}")
    with open_metadata(rotated) as store, store.sessions() as session:
        assert session.get(Cluster, cluster_id).provider_config == CONFIG
    only_new = Settings(home=tmp_path / "home", secret_key=new)
    with open_metadata(only_new) as store, store.sessions() as session:
        assert session.get(Cluster, cluster_id).provider_config == CONFIG


def test_a_key_from_the_environment_is_checked():
    with pytest.raises(SettingsError, match="CURVEHOUSE_SECRET_KEY"):
        Settings.from_env({"CURVEHOUSE_SECRET_KEY": "not-a-key"})
    key = Fernet.generate_key().decode()
    settings = Settings.from_env({"CURVEHOUSE_SECRET_KEY": key})
    assert settings.secret_key.get_secret_value() == key and key not in repr(settings)
    path = Settings.from_env({"CURVEHOUSE_SECRET_KEY_FILE": "/run/secrets/ch.key"})
    assert str(path.key_file) == "/run/secrets/ch.key"
    assert os.path.basename(Settings().key_file) == "secret.key"
