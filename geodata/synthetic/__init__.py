"""The synthetic sample district: a deterministic, Ezhou-inspired city block set.

:func:`generate_district` writes a complete city folder (terrain GeoTIFF,
building/road/water/land-use GeoPackages, sensor stations and 72 h of
readings, an IFC school and the ``city.toml`` manifest). The layout is
inspired by central Ezhou (Echeng district): the Yangtze behind a levee along
the north edge, a lake in the middle of town, a hill by the river on the
west. Nothing is copied from real maps; every shape comes from a seeded
random generator, so the same seed gives the same files.

One module per layer: :mod:`~geodata.synthetic.frame` (extent and street-grid
frame), :mod:`~geodata.synthetic.water`, :mod:`~geodata.synthetic.terrain`,
:mod:`~geodata.synthetic.roads`, :mod:`~geodata.synthetic.blocks` (sites and
zoned blocks), :mod:`~geodata.synthetic.buildings`,
:mod:`~geodata.synthetic.landuse`, :mod:`~geodata.synthetic.places`,
:mod:`~geodata.synthetic.sensors`, :mod:`~geodata.synthetic.bim` (the IFC
school), :mod:`~geodata.synthetic.provenance`; :mod:`~geodata.synthetic.district`
puts them together and writes the folder.

Run it from the command line::

    python -m geodata.synthetic data_samples/ezhou --seed 20240705

Examples
--------
>>> from geodata.synthetic import generate_district
>>> generate_district("/tmp/small_district", scale=0.25)      # doctest: +SKIP
PosixPath('/tmp/small_district')
"""
from geodata.synthetic.district import generate_district, main
from geodata.synthetic.parameters import CENTRE_LONLAT, CRS_EPSG, DEFAULT_SEED

__all__ = ["generate_district", "main", "DEFAULT_SEED", "CENTRE_LONLAT", "CRS_EPSG"]
