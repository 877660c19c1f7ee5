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


# -- the official CityJSON 2.0 schema ---------------------------------------------------
# No package ships the schema files themselves, but the official validator (cjval, whose
# Python wheels are published on PyPI as `cjvalpy`) embeds the complete, dereferenced
# schema documents. We download that wheel (for any platform: we only read its bytes),
# decode the embedded 2.0.0 schema and cache it outside the repository.
CJVAL_WHEEL = ("cjvalpy==0.4.1", "3.9", "macosx_11_0_arm64")
CITYJSON_SCHEMA_ID = "https://www.cityjson.org/schemas/2.0.0/cityjson.schema.json"


def _schema_from_binary(data: bytes, schema_id: str) -> dict | None:
    import json
    import re
    decoder = json.JSONDecoder()
    for match in re.finditer(rb'\{\s*"\$schema"', data):
        text = data[match.start():match.start() + 4_000_000].decode("utf-8", "replace")
        try:
            doc, _ = decoder.raw_decode(text)
        except ValueError:
            continue
        if doc.get("$id") == schema_id:
            return doc
    return None


@pytest.fixture(scope="session")
def cityjson_schema() -> dict:
    """The official CityJSON 2.0.0 JSON schema (dereferenced), from the official validator."""
    import json
    import os
    import subprocess
    import sys
    import tempfile
    import zipfile
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "citytwin"
    cached = cache / "cityjson-2.0.0.schema.json"
    if not cached.exists():
        spec, py, platform = CJVAL_WHEEL
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                                   "--only-binary", ":all:", "--python-version", py,
                                   "--platform", platform, spec, "-d", tmp],
                                  capture_output=True, text=True, timeout=300)
            wheels = list(Path(tmp).glob("*.whl"))
            if proc.returncode != 0 or not wheels:
                pytest.skip(f"cannot download the official CityJSON validator {spec} from PyPI "
                            f"to obtain the 2.0 schema: {proc.stderr.strip()[-200:]}")
            with zipfile.ZipFile(wheels[0]) as wheel:
                binary = next(n for n in wheel.namelist() if n.endswith(".so"))
                schema = _schema_from_binary(wheel.read(binary), CITYJSON_SCHEMA_ID)
        assert schema is not None, f"no {CITYJSON_SCHEMA_ID} inside {spec}"
        cache.mkdir(parents=True, exist_ok=True)
        tmp_file = cached.with_suffix(".partial")
        tmp_file.write_text(json.dumps(schema))
        tmp_file.replace(cached)
    return json.loads(cached.read_text())


@pytest.fixture(scope="session")
def validate_cityjson(cityjson_schema):
    """Return a function that asserts a CityJSON document is valid against the 2.0 schema."""
    import jsonschema
    validator = jsonschema.Draft7Validator(cityjson_schema)

    def check(doc: dict) -> None:
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, (f"{len(errors)} schema errors; first at "
                            f"{list(errors[0].absolute_path)}: {errors[0].message[:300]}")
    return check


# -- the Khronos glTF validator (npm package gltf-validator) --------------------------------
_VALIDATE_JS = """
const validator = require(process.argv[2]);
const fs = require('fs');
validator.validateBytes(new Uint8Array(fs.readFileSync(process.argv[3])))
  .then((report) => console.log(JSON.stringify(report.issues)))
  .catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.fixture(scope="session")
def validate_glb(tmp_path_factory):
    """Return a function that runs the official Khronos glTF validator on a GLB file,
    asserts it reports no error and returns its issues report."""
    import json
    import os
    import shutil
    import subprocess
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the Khronos glTF validator")
    cache = Path(os.environ.get("CITYTWIN_NPM_CACHE",
                                Path.home() / ".cache" / "citytwin" / "npm"))
    package = cache / "node_modules" / "gltf-validator"
    if not package.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(cache), "--no-audit", "--no-fund",
                        "gltf-validator"], check=True, capture_output=True, timeout=300)
    script = tmp_path_factory.mktemp("gltf") / "validate.js"
    script.write_text(_VALIDATE_JS)

    def check(path: Path) -> dict:
        out = subprocess.run(["node", str(script), str(package), str(path)], capture_output=True,
                             text=True, check=True, timeout=300)
        report = json.loads(out.stdout)
        assert report["numErrors"] == 0, report["messages"][:5]
        return report
    return check
