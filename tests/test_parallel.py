"""Dask paths (threads, processes, a distributed cluster by address) give exactly the serial results."""
import numpy as np, pandas as pd, pytest
from cosmic_morph.manifest import manifest_from_records, save_manifest, load_manifest
from cosmic_morph.parallel import store_images, compute_image_facts, verify_store, FACT_COLUMNS

@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("par")/"store"; rng = np.random.default_rng(1)
    items = [(f"demo:{i}", rng.integers(0, 255, (16 + i, 20, 3 if i % 2 else 1)[: 3 if i % 2 else 2], dtype=np.uint8)) for i in range(30)]
    facts = store_images(d, items, scheduler="sync", progress=False)
    save_manifest(manifest_from_records([dict(image_id=n, source="demo", **f) for (n, _), f in zip(items, facts)]), d)
    return d

def test_every_scheduler_matches_serial(demo_store):
    from distributed import LocalCluster
    m = load_manifest(demo_store)
    serial = compute_image_facts(m, demo_store, scheduler="sync", progress=False)
    assert serial[FACT_COLUMNS].astype(str).values.tolist() == m[FACT_COLUMNS].astype(str).values.tolist()
    assert set(serial["mode"]) == {"L", "RGB"} and serial.error.isna().all()
    for sched in ("threads", "processes"):
        pd.testing.assert_frame_equal(compute_image_facts(m, demo_store, scheduler=sched, num_workers=2, progress=False), serial)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        pd.testing.assert_frame_equal(compute_image_facts(m, demo_store, scheduler=cluster.scheduler_address, progress=False), serial)
        assert len(verify_store(demo_store, scheduler=cluster.scheduler_address, progress=False)) == 0

def test_store_images_in_processes_equals_threads(tmp_path):
    rng = np.random.default_rng(2)
    items = [(f"x:{i}", rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)) for i in range(12)]
    a = store_images(tmp_path/"a", items, scheduler="processes", num_workers=2, progress=False)
    b = store_images(tmp_path/"b", items, scheduler="threads", progress=False)
    assert a == b and len({r["sha256"] for r in a}) == 12
