"""``python -m geodata.synthetic OUT_FOLDER [--seed N] [--scale S]``."""
from geodata.synthetic.district import main

raise SystemExit(main())
