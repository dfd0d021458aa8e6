"""Verification and mismatch diagnosis."""

import numpy as np
import pytest

from harness.cases import catalogue
from harness.reference import reference_array
from harness.verify import check, diagnose, user_attributes
from zc_canonical import canonical_bytes, canonical_hash, fill_equal


def resp_for(case, arr, **over):
    r = {"shape": list(arr.shape), "dtype": case.dtype, "hash": canonical_hash(arr, case.dtype),
         "fill_value": case.fill_value, "attributes": case.attributes}
    r.update(over)
    return r


@pytest.fixture
def case():
    return catalogue()["v2/int16/zlib/edge"]


def test_faithful_read_passes(case):
    ref = reference_array(case)
    assert check(case, canonical_hash(ref, case.dtype), resp_for(case, ref)).ok


@pytest.mark.parametrize("field, value, text", [
    ("shape", [30, 20], "shape [30, 20] instead of [20, 30]"),
    ("dtype", "int32", "dtype int32 instead of int16"),
    ("fill_value", 1, "fill value 1 instead of 0"),
    ("attributes", {"x": 1}, "attributes differ: unexpected ['x']"),
])
def test_each_property_is_checked(case, field, value, text):
    ref = reference_array(case)
    v = check(case, canonical_hash(ref, case.dtype), resp_for(case, ref, **{field: value}))
    assert not v.ok and text in v.message


def test_reserved_attribute_keys_are_not_user_attributes():
    assert user_attributes({"_ARRAY_DIMENSIONS": ["x"], "_nczarr_array": {}, "a": 1}) == {"a": 1}


def diag(case, got):
    return diagnose(case, reference_array(case), canonical_bytes(got, case.dtype),
                    {"shape": list(got.shape), "dtype": case.dtype})


def test_diagnose_transposed(case):
    assert diag(case, np.ascontiguousarray(reference_array(case).T)) == "transposed (axes reversed)"


def test_diagnose_byte_swapped(case):
    ref = reference_array(case)
    assert diag(case, ref.byteswap()) == "byte-swapped"


def test_diagnose_all_fill(case):
    d = diag(case, np.zeros_like(reference_array(case)))
    assert "all elements are the fill value" in d and "elements differ" in d


def test_diagnose_edge_chunks_only(case):
    got = reference_array(case).copy()
    got[16:, 28:] += 1  # the last (partial) chunk row and column
    d = diag(case, got)
    assert "only edge chunks differ" in d
    assert "first at index [16, 28]" in d


def test_diagnose_f_order(case):
    ref = reference_array(case)
    got = ref.reshape(-1, order="F").reshape(ref.shape)
    assert "F order" in diag(case, got)


def test_diagnose_counts_elements():
    case = catalogue()["v3/float64/zstd/edge"]
    got = reference_array(case).copy()
    got[3, 4] = 12345.0
    d = diag(case, got)
    assert "1 of 600 elements differ, first at index [3, 4]" in d


def test_nan_and_negative_zero_fill_values():
    assert fill_equal("NaN", "NaN", "float64")
    assert not fill_equal(-0.0, 0.0, "float32")
    assert fill_equal(["NaN", 1.5], ["NaN", 1.5], "complex128")
    assert fill_equal(18446744073709551610, 18446744073709551610, "uint64")
    assert not fill_equal(18446744073709551610, 18446744073709551611.0, "uint64")


def test_complex_nan_parts_are_compared_part_by_part():
    case = catalogue()["v3/complex128/zstd/fill-cnan"]
    got = reference_array(case).copy()
    got[0, 1] = complex(float("nan"), 0.0)  # a missing chunk read with the wrong fill's imaginary part
    d = diag(case, got)
    assert "elements differ, first at index [0, 1]" in d


def test_values_right_in_a_wider_type_say_so():
    """GDAL 3.6 reads int8 as int16: the diagnosis says the values are right, not 'NaN payload'."""
    import numpy as np

    from harness.cases import catalogue
    from harness.reference import reference_array
    from harness.verify import diagnose
    from zc_canonical import canonical_bytes

    case = catalogue()["v2/int8/zlib/edge"]
    ref = reference_array(case)
    wide = canonical_bytes(ref.astype(np.int16), "int16")
    assert diagnose(case, ref, wide, {"shape": list(ref.shape), "dtype": "int16"}) == "values right, read as int16"
    wrapped = ref.astype(np.int16)
    wrapped.flat[3] = 300  # not an int8: a real difference
    got = diagnose(case, ref, canonical_bytes(wrapped, "int16"), {"shape": list(ref.shape), "dtype": "int16"})
    assert "values that int8 cannot hold" in got
