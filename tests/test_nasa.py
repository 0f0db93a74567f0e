"""NASA ingest against the local FakeNasaServer: kill/resume, faults, odd ids, page cap, memory:// stores, bad input."""
import os, signal, subprocess, sys, time, hashlib
import pandas as pd, pytest
from cosmic_morph.manifest import ImageStore, load_manifest, validate_manifest, read_meta
from cosmic_morph.ingest.nasa import ingest_nasa, NasaError
from cosmic_morph.testing import FakeNasaServer, fake_catalogue, CAP_REASON

FAST = dict(rate_limit=None, backoff=0.01, progress=False)

def _rows(store, source="nasa"):
    m = load_manifest(store); return m[m.source == source]

def test_kill_and_resume(tmp_path):
    "SIGKILL mid-run loses only in-flight work; the rerun completes and never re-downloads a stored id."
    store = tmp_path/"store"
    classes, per_class = ["galaxy", "nebula", "star"], 10
    with FakeNasaServer(fake_catalogue(n=20), latency=0.2) as srv:
        code = (f"from cosmic_morph.ingest.nasa import ingest_nasa; ingest_nasa({str(store)!r}, classes={','.join(classes)!r}, "
                f"per_class={per_class}, api_url={srv.url!r}, concurrency=2, rate_limit=None, checkpoint_every=2, progress=False)")
        p = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(), stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            if (store/"manifest.parquet").exists() and len(load_manifest(store)) >= 4: break
            time.sleep(0.05)
        assert p.poll() is None, "the ingest finished before it could be killed"
        p.send_signal(signal.SIGKILL); p.wait()
        before = load_manifest(store)
        validate_manifest(before)
        assert 4 <= len(before) < len(classes) * per_class
        hits_before = dict(srv.image_hits)
        stored_ids = [read_meta(m)["nasa_id"] for m in before.meta]
        assert all(hits_before.get(i, 0) == 1 for i in stored_ids)

        m = ingest_nasa(store, classes=classes, per_class=per_class, api_url=srv.url, concurrency=4, **FAST)
        nasa = m[m.source == "nasa"]
        assert nasa.label.value_counts().to_dict() == {c: per_class for c in classes}
        validate_manifest(m)
        for i in stored_ids: assert srv.image_hits[i] == 1           # stored before the kill: not fetched again
        new = sum(srv.image_hits.values()) - sum(hits_before.values())
        assert new == len(classes) * per_class - len(before)          # exactly the missing ones were downloaded
        s = ImageStore(store)
        for uri, sha in zip(nasa.uri, nasa.sha256): assert hashlib.sha256(s.read_bytes(uri)).hexdigest() == sha

        counts = dict(srv.counts)                                      # a finished job, rerun: not one request
        again = ingest_nasa(store, classes=classes, per_class=per_class, api_url=srv.url, **FAST)
        assert dict(srv.counts) == counts and len(again) == len(m) and again.attrs["report"]["stored"] == 0

def test_faults_odd_ids_and_conflicts(tmp_path):
    cat = fake_catalogue(n=8)
    bad = cat["galaxy"][0]["nasa_id"]
    faults = {"search": ["503", "429"], f"image:{bad}": ["html", "truncate", "html"],          # every rendition broken
              "image:GALAXY_0003": ["drop", "slow"], "asset:GALAXY_0004": ["503", "503"], "image:COMET_0003": ["429"]}
    with FakeNasaServer(cat, faults=faults, retry_after="0", slow_s=2.0) as srv:
        m = ingest_nasa(tmp_path, classes=["asteroid", "comet", "galaxy"], per_class=5, api_url=srv.url,
                        concurrency=4, timeout=0.5, retries=4, **FAST)
    nasa = m[m.source == "nasa"]
    rep = m.attrs["report"]
    assert nasa.label.value_counts().to_dict() == {"asteroid": 5, "comet": 5, "galaxy": 5}
    assert f"nasa:{bad}" not in set(nasa.image_id)                     # never stored ...
    assert len(rep["rejected"]) == 1 and repr(bad) in rep["rejected"][0] and "not a readable image" in rep["rejected"][0]
    assert "nasa:GALAXY_0003" in set(nasa.image_id) and "nasa:GALAXY_0004" in set(nasa.image_id)   # retried through
    shared = cat["asteroid"][3]["nasa_id"]                              # returned by both asteroid and comet
    row = nasa[nasa.image_id == f"nasa:{shared}"]
    assert len(row) == 1 and row.label.iloc[0] == "asteroid"
    assert read_meta(row.meta.iloc[0])["also_matched"] == ["comet"] and len(rep["conflicts"]) == 1
    odd = [i for i in nasa.image_id if any(ch in i for ch in " /?#%") or not i.isascii()]
    assert len(odd) >= 4
    for i in odd: assert read_meta(nasa.meta[nasa.image_id == i].iloc[0])["nasa_id"] == i[len("nasa:"):]
    assert all(u.startswith("images/") and " " not in u for u in nasa.uri)

def test_page_cap_stops_cleanly(tmp_path):
    with FakeNasaServer(fake_catalogue(n=12), page_cap=2) as srv:
        m = ingest_nasa(tmp_path, classes="planet", per_class=10, api_url=srv.url, page_size=4, **FAST)
        assert srv.counts["search"] == 3                                 # pages 1, 2 and the capped 3rd
    assert len(m) == 8 and m.attrs["report"]["short"] == ["planet: 8 of 10 (query 'planet' ran out)"]

def test_memory_store(tmp_path):
    url = "memory://cm-pytest/nasa"
    with FakeNasaServer(fake_catalogue(n=6)) as srv:
        m = ingest_nasa(url, classes=["star", "nebula"], per_class=3, api_url=srv.url, **FAST)
        hits = sum(srv.image_hits.values())
        again = ingest_nasa(url, classes=["star", "nebula"], per_class=3, api_url=srv.url, **FAST)
        assert sum(srv.image_hits.values()) == hits == 6
    assert len(m) == len(again) == 6
    s = ImageStore(url)
    assert s.local_path(m.uri[0]) is None and s.read_bytes(m.uri[0])[:2] == b"\xff\xd8"

def test_bad_input_leaves_store_untouched(tmp_path):
    with pytest.raises(ValueError, match="unknown NASA class.*'?quasar"):
        ingest_nasa(tmp_path, classes="quasar", api_url="http://127.0.0.1:9", **FAST)
    with pytest.raises(NasaError, match=r"search 'galaxy' page 1: gave up after 2 tries \(ConnectError"):
        ingest_nasa(tmp_path, classes="galaxy", api_url="http://127.0.0.1:9", retries=1, **FAST)
    assert not (tmp_path/"manifest.parquet").exists() and not (tmp_path/"images").exists()

def test_search_failing_midway_keeps_what_landed(tmp_path):
    "Page 2 of a search fails for good: the error is raised, and the images already in flight are in the Manifest."
    with FakeNasaServer(fake_catalogue(n=10), faults={"search": ["ok", "503", "503", "503"]}) as srv:
        with pytest.raises(NasaError, match=r"search 'galaxy' page 2: gave up after 3 tries \(HTTP 503\)"):
            ingest_nasa(tmp_path, classes="galaxy", per_class=8, api_url=srv.url, page_size=4, retries=2, **FAST)
    m = load_manifest(tmp_path)
    assert len(m) == 4 and set(m.label) == {"galaxy"}
