import pytest

from pipelines.synthetic import DemoSpec, generate_demo


def take_snapshot(store) -> dict:
    """Every table of the store's database with its row count and a content checksum."""
    tables = [
        r[0]
        for r in store.client.query(
            "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
            parameters={"db": store.database},
        ).result_rows
    ]
    snapshot = {}
    for table in tables:
        count, checksum = store.client.query(
            f"SELECT count(), groupBitXor(cityHash64(*)) FROM {store.db}.`{table}`"
        ).result_rows[0]
        snapshot[table] = (count, checksum)
    return snapshot


@pytest.fixture
def snapshot():
    return take_snapshot


@pytest.fixture
def small_demo():
    """A few dozen demo curves as batches, small enough to write in every test."""
    return DemoSpec(curves=45, seed=5, batch_points=60_000)


@pytest.fixture
def demo_batches(small_demo):
    return list(generate_demo(small_demo))
