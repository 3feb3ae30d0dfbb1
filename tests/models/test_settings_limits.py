"""The import limits an operator may tune: CURVEHOUSE_UPLOAD_MB, _IMPORT_WORKERS,
_IMPORTS_PER_PERSON."""

import pytest

from models.settings import Settings, SettingsError


def test_defaults_and_overrides():
    default = Settings.from_env({})
    assert (default.upload_mb, default.import_workers, default.imports_per_person) == (100, 2, 2)
    tuned = Settings.from_env(
        {
            "CURVEHOUSE_UPLOAD_MB": "500",
            "CURVEHOUSE_IMPORT_WORKERS": "4",
            "CURVEHOUSE_IMPORTS_PER_PERSON": "1",
        }
    )
    assert (tuned.upload_mb, tuned.import_workers, tuned.imports_per_person) == (500, 4, 1)


@pytest.mark.parametrize("name", ["UPLOAD_MB", "IMPORT_WORKERS", "IMPORTS_PER_PERSON"])
@pytest.mark.parametrize("value", ["0", "-1", "lots", "1.5"])
def test_nonsense_is_refused_by_name(name, value):
    with pytest.raises(SettingsError, match=f"CURVEHOUSE_{name}={value!r} is not"):
        Settings.from_env({f"CURVEHOUSE_{name}": value})
