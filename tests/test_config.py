"The one declaration of every setting (`cosmic_morph.config`) against the places that use it: notebook parameters."
from dataclasses import fields
import papermill as pm
import pytest
from cosmic_morph.config import TrainConfig, CaptionConfig, RunConfig, PROFILES, nbs_path

RUN_LEVEL = {"profile", "store", "run_dir", "seed"}
SETTINGS = {f.name for c in (TrainConfig, CaptionConfig) for f in fields(c)}   # RunConfig values are passed as they are
NOTEBOOKS = sorted(p for p in nbs_path().glob("[0-9]*.ipynb"))

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_that_override_a_setting_default_to_the_profile(nb):
    params = pm.inspect_notebook(str(nb))
    assert "profile" in params, f"{nb.name}: no `profile` parameter"
    for name, p in params.items():
        if name in SETTINGS and name not in RUN_LEVEL:
            assert p["default"] == "None", f"{nb.name}: parameter {name} = {p['default']} should be None (the profile's)"

def test_every_profile_builds_every_configuration():
    for cls in (TrainConfig, CaptionConfig, RunConfig):
        for prof in PROFILES:
            c = cls.for_profile(prof)
            assert cls.from_dict(c.to_dict()) == c

def test_train_notebook_overrides_are_settings():
    params = pm.inspect_notebook(str(nbs_path()/"07g_train.ipynb"))
    overrides = {k for k, v in params.items() if v["default"] == "None"}
    assert overrides and overrides <= {f.name for f in fields(TrainConfig)}
