"""Shared fixtures: one small FIRST store and one smoke model, built once per test session (offline, seconds)."""
import os, sys
from pathlib import Path
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
CLI = str(Path(sys.executable).parent/"cosmic-morph")

@pytest.fixture(scope="session")
def first_store(tmp_path_factory):
    from cosmic_morph.ingest.first import ingest_first
    from cosmic_morph.split import split_store
    d = tmp_path_factory.mktemp("first")/"store"
    ingest_first(d, per_class=3, progress=False)
    split_store(d)
    return d

@pytest.fixture(scope="session")
def smoke_learner(first_store, tmp_path_factory):
    from cosmic_morph.manifest import load_manifest
    from cosmic_morph.train import train
    out = tmp_path_factory.mktemp("model")/"model"
    learn = train(load_manifest(first_store), first_store, out, profile="smoke", taxonomy="first4", seed=0,
                  batch_size=4)   # 12 training images: the smoke batch of 16 would train nothing (refused)
    return learn, out
