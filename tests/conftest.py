"""Shared test fixtures: where the outside data lives, and the sample city."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_CITY = REPO / "data_samples" / "ezhou" / "city.toml"


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"outside test data {relative} not found beside the repository "
                    f"(expected in ../shared/data/); a fresh clone does not have it")
    return path


@pytest.fixture(scope="session")
def delft_cityjson() -> Path:
    """The Delft CityJSON 2.0 block (EPSG:7415), read from ../shared/data."""
    return _shared("delft/delft.city.json")


@pytest.fixture(scope="session")
def delft_dtm() -> Path:
    """The 1 m Delft terrain with nodata holes (EPSG:28992)."""
    return _shared("delft/delft_dtm_1m.tif")


@pytest.fixture(scope="session")
def fzk_haus_ifc() -> Path:
    """The FZK-Haus IFC4 model, georeferenced near Karlsruhe."""
    return _shared("fzk-haus/AC20-FZK-Haus.ifc")


@pytest.fixture(scope="session")
def sample_city_path() -> Path:
    """The manifest of the embedded Ezhou sample district."""
    if not SAMPLE_CITY.exists():
        pytest.skip("data_samples/ezhou has not been generated")
    return SAMPLE_CITY
