"""Exit labelling from masks, label grids and dicts; bad exits are named."""
from __future__ import annotations

import numpy as np
import pytest

from simulations.crowd.exits import exit_labels


def test_bool_mask_patches_become_separate_exits():
    m = np.zeros((5, 8), bool)
    m[0, 1:3] = True
    m[4, 5:8] = True
    labels, names = exit_labels(m, m.shape)
    assert names == [0, 1]
    assert set(np.unique(labels[m])) == {1, 2} and (labels[~m] == 0).all()


def test_int_labels_keep_their_values_as_names():
    a = np.zeros((3, 3), int)
    a[0, 0], a[2, 2] = 7, 3
    labels, names = exit_labels(a, a.shape)
    assert names == [3, 7]
    assert names[labels[0, 0] - 1] == 7 and names[labels[2, 2] - 1] == 3


def test_dict_names_and_overlap():
    a = np.zeros((3, 3), bool)
    a[0] = True
    b = np.zeros((3, 3), bool)
    b[2] = True
    labels, names = exit_labels({"north": a, "south": b}, a.shape)
    assert names == ["north", "south"] and labels[0, 1] == 1 and labels[2, 1] == 2
    with pytest.raises(ValueError, match="overlaps"):
        exit_labels({"north": a, "again": a}, a.shape)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((3, 3), bool), "no exit cell"),
    (np.ones((2, 3), bool), "shape"),
    (np.full((3, 3), 0.5), "dtype"),
    (-np.ones((3, 3), int), ">= 0"),
    ({"door": np.zeros((3, 3), bool)}, "has no cell"),
])
def test_bad_exits_raise_naming_exits(bad, match):
    with pytest.raises(ValueError, match=match) as err:
        exit_labels(bad, (3, 3))
    assert "exits" in str(err.value)
