"""The PROVENANCE.md text written beside the sample district."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from geodata.storm import WUHAN, chicago_hyetograph
from geodata.synthetic.parameters import (CELL, CENTRE_LONLAT, CONCERT_H, CRS_EPSG,
                                           DEFAULT_SEED, HOURS,
                                           LAKE_LEVEL, LEVEE_CREST, MANNING, RIVER_LEVEL,
                                           START, STEP_S, STORM_DURATION_S,
                                           STORM_RETURN_PERIOD, STORM_START_H, THETA_DEG)

if TYPE_CHECKING:
    from geodata.synthetic.district import District

__all__ = ["provenance_text"]


def provenance_text(d: "District", seed: int, scale: float) -> str:
    """Markdown describing how the district ``d`` was made and what each file holds."""
    f = d.frame
    b = d.buildings
    command = "python -m geodata.synthetic data_samples/ezhou"
    if seed != DEFAULT_SEED:
        command += f" --seed {seed}"
    if scale != 1.0:
        command += f" --scale {scale}"
    _, storm = chicago_hyetograph(STORM_RETURN_PERIOD, STORM_DURATION_S, STEP_S)
    n_low = int(b.loc[b["low_block"], "block"].nunique())
    return f"""# Provenance of the Ezhou sample district

**These data are synthetic.** They are inspired by central Ezhou (Echeng district, Hubei,
on the south bank of the Yangtze), not copied from any map, survey or dataset. Names are
made up in the style of the place; any match with a real building or street is chance.

- Generator: `geodata/synthetic/` (one module per layer), seed **{seed}**, scale {scale}.
- Regenerate with: `{command}` (the same seed gives the same data).
- CRS: EPSG:{CRS_EPSG} (CGCS2000 / 3-degree Gauss-Kruger, central meridian 114 E); heights
  in metres on a Yellow-Sea-like datum. Extent {f.width:.0f} m x {f.height:.0f} m, south-west
  corner ({f.x0:.0f}, {f.y0:.0f}), centred near {CENTRE_LONLAT[1]} N, {CENTRE_LONLAT[0]} E.

## Layers
- `terrain.tif`: {CELL:.0f} m float32 grid ({d.terrain.shape[1]} x {d.terrain.shape[0]}).
  Town ground slopes from ~23 m (south) to ~20 m (north), with smoothed Gaussian noise.
  The Yangtze (bed ~10 m, normal level {RIVER_LEVEL} m) fills the north strip behind a
  continuous levee (crest ~{LEVEE_CREST} m, 12 m crest, 1:2.5 sides) with a berm at 17-18 m
  on the river side. Yanglan-like lake in the centre (bed ~15 m, normal level {LAKE_LEVEL} m,
  shallow shores); a drainage canal (bed 16 m) runs from the lake to the pumping station at
  the levee toe (the levee is not cut). A Xishan-like hill (~90 m) rises by the river on the
  west. Road beds are raised 0.2 m; {n_low} residential blocks are sunk ~1.8 m below
  their surroundings so that they pond (`[places] low_block` points at one).
- `roads.gpkg` ({len(d.roads)} links): a street grid rotated {THETA_DEG} degrees
  (arterials every 600 m x 480 m, collectors between, local streets every 150 m x 120 m,
  some gently curved), the riverfront arterial, a ring road round the lake, a diagonal
  arterial and a road round the hill. Lines are split at every junction (shared end points).
  `lanes` counts all lanes; `capacity_vph` is the link's total capacity (lanes x 1800, 1500
  or 900 veh/h per lane for arterial, collector, local); `oneway` links run in their
  digitised direction.
- `buildings.gpkg` ({len(b)} buildings): footprints from a per-zone lattice (towers, point
  blocks, slabs, L and U blocks, courtyards with holes, row houses, villas, sheds) rotated
  to the grid and kept only when inside a block set back from the streets; named landmarks
  on their own sites. Height from a use-dependent range; `storeys` from the storey height;
  {int(b['height'].isna().sum())} buildings have no height (use storeys x 3 m).
  `population` is people present at night: residential floor area x 0.9 / 38 m2, hospital
  700, small numbers in other uses.
- `water.gpkg`: river, lake and canal polygons with their normal water level (`level`, m).
- `landuse.gpkg`: polygons covering the district with Manning's n per class
  ({', '.join(f'{k} {v}' for k, v in MANNING.items())}); the levee and the
  riverside berm count as park.
- `sensors/`: {len(d.stations)} stations; 5-minute readings for {HOURS} h from
  {START.isoformat()} (value = mean over the 5 minutes ending at the time stamp). Rain
  gauges record a {STORM_DURATION_S // 3600} h Chicago design storm (peak ratio 0.4,
  return period {STORM_RETURN_PERIOD:.0f} years, {STEP_S // 60}-min steps; peak
  {storm.max():.0f} mm/h, depth {storm.sum() * STEP_S / 3600:.0f} mm at the storm centre)
  starting {(START + pd.Timedelta(hours=STORM_START_H)).isoformat()}, scaled 0.78-1.12 and
  delayed 0-20 min west to east per gauge, with 6 % noise; one gauge has a 30-minute
  outage. Lake and canal levels follow a linear-reservoir runoff model (catchment 21 x the lake,
  runoff coefficient 0.65, k = 1.2 h) with pumping of up to 0.10 m/h above {LAKE_LEVEL} m; the
  Yangtze rises slowly through the flood season; traffic counts follow weekday/weekend
  daily cycles with a dip in the storm; crowd counters see commuters at the station and a
  concert at the stadium ({CONCERT_H[0] - 24:.1f} h to {CONCERT_H[1] - 24:.1f} h on day 2).
  About 0.2 % of readings are missing at random.
- `bim/school.ifc`: IFC4 written with ifcopenshell.api: {d.school['storeys']} storeys of
  walls, floor slabs, a roof, windows and a door, {d.school['width']:.0f} m x
  {d.school['depth']:.0f} m, origin at the footprint centre, with an IfcMapConversion to
  EPSG:{CRS_EPSG} matching the `[[bim]]` placement in `city.toml` (building
  {d.school['id']}).

## Storm formula
Wuhan storm-intensity formula (Ezhou uses Wuhan's): q = {WUHAN.A:g} (1 + {WUHAN.C:g} lg P) /
(t + {WUHAN.b:g})^{WUHAN.n:g} L/(s ha), t in minutes; 1 L/(s ha) = 0.36 mm/h. See
`geodata/storm.py`.
"""
