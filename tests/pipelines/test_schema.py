import pytest

from pipelines.schema import CURRENT_VERSION, MIGRATIONS, Migration, SchemaError, ensure_schema

pytestmark = pytest.mark.integration


def test_schema_is_created_once_and_recorded(database):
    client, name = database
    assert ensure_schema(client, name) == [m.version for m in MIGRATIONS]
    assert ensure_schema(client, name) == []
    tables = {r[0] for r in client.query(f"SHOW TABLES FROM `{name}`").result_rows}
    assert {"curves", "curve_samples", "datasets", "schema_migrations"} <= tables
    versions = client.query(f"SELECT version FROM `{name}`.schema_migrations").result_rows
    assert sorted(v[0] for v in versions) == list(range(1, CURRENT_VERSION + 1))


def test_a_later_migration_keeps_stored_data(store, demo_batches):
    from pipelines.store import DatasetSpec

    store.write(demo_batches, DatasetSpec(project="p", kind="demo", name="before"))
    before = store.client.query(
        f"SELECT count(), sum(length(y)) FROM {store.db}.curve_samples"
    ).result_rows
    v2 = Migration(
        CURRENT_VERSION + 1,
        "add a feature column",
        ("ALTER TABLE {db}.curves ADD COLUMN IF NOT EXISTS peak_force Float32 DEFAULT y_max",),
    )
    assert ensure_schema(store.client, store.database, (*MIGRATIONS, v2)) == [v2.version]
    after = store.client.query(
        f"SELECT count(), sum(length(y)) FROM {store.db}.curve_samples"
    ).result_rows
    assert after == before
    rows = store.client.query(
        f"SELECT count() FROM {store.db}.curves WHERE peak_force = toFloat32(y_max)"
    ).result_rows
    assert rows[0][0] == sum(len(b) for b in demo_batches)


def test_a_database_newer_than_the_code_is_refused(store):
    store.client.command(
        f"INSERT INTO {store.db}.schema_migrations (version, description) VALUES (999, 'future')"
    )
    with pytest.raises(SchemaError, match="newer than this Curvehouse"):
        ensure_schema(store.client, store.database)


def test_database_names_are_validated(database):
    client, _ = database
    with pytest.raises(ValueError, match="not a valid name"):
        ensure_schema(client, "x; DROP DATABASE system")
