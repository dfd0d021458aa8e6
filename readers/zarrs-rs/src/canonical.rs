//! Canonical dtype names, bytes, hash and fill-value JSON of protocol v1 (docs/protocol.md),
//! from what zarrs returns: its data types, array bytes and fill values, handed to the shared
//! protocol crate (zc_protocol::canonical) in its forms. The unit tests run this code on the
//! committed vectors (canonical/vectors/vectors.json).

use std::borrow::Cow;

use serde_json::Value;
use zarrs::array::{ArrayBytes, DataType, FillValue};
use zc_protocol::canonical;

pub use zc_protocol::canonical::hash;

/// The canonical dtype name of a zarrs data type (the reason when it has none).
pub fn dtype_name(dt: &DataType) -> Result<String, String> {
    let name = dt.name_v3().map(Cow::into_owned).unwrap_or_default();
    let canon = match name.as_str() {
        "bool" | "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64"
        | "float16" | "float32" | "float64" | "complex64" | "complex128" | "string" => name.clone(),
        "complex_float32" => "complex64".into(),
        "complex_float64" => "complex128".into(),
        "fixed_length_utf32" => match dt.fixed_size() {
            Some(n) => format!("U{}", n / 4),
            None => String::new(),
        },
        _ => String::new(),
    };
    if canon.is_empty() {
        return Err(format!("zarrs data type {dt} has no canonical dtype name in protocol v1"));
    }
    Ok(canon)
}

/// The canonical bytes of a whole array of `dtype` as zarrs returns it (C order; zarrs'
/// element bytes are native-endian, i.e. little-endian here).
pub fn bytes(dtype: &str, data: ArrayBytes<'_>) -> Result<Vec<u8>, String> {
    match data {
        // zarrs hands over bool bytes as stored: any nonzero byte is True (canonical::fixed)
        ArrayBytes::Fixed(bytes) => Ok(canonical::fixed(dtype, bytes.into_owned())),
        ArrayBytes::Variable(v) => {
            let (bytes, offsets) = v.into_parts();
            Ok(canonical::variable(&bytes, &offsets))
        }
        ArrayBytes::Optional(_) => Err("optional (masked) arrays have no canonical form".into()),
    }
}

/// The protocol's JSON form of a fill value from zarrs' fill value bytes; None (the format's
/// "no fill value", a zarr v2 `fill_value: null`) is JSON null.
pub fn fill_json(dtype: &str, fill: Option<&FillValue>) -> Value {
    canonical::fill_json(dtype, fill.map(FillValue::as_ne_bytes))
}

#[cfg(test)]
mod tests {
    //! The vectors in zarrs' in-memory forms: fixed-size elements as `ArrayBytes::Fixed`
    //! (U<n> as UTF-32 code units), `string` as `ArrayBytes::Variable` (UTF-8 bytes and
    //! offsets), fill values as `FillValue` bytes. Fill values are checked in one direction:
    //! the adapter hands the case's JSON fill value to zarrs as it is, without code of its
    //! own. ZC_VECTORS names another vectors file; ZC_VECTORS_REPORT a file that gets one
    //! line per vector ("ok|skip|FAIL array|fill NAME[: why]").

    use super::*;
    use zarrs::array::ArrayBytesOffsets;
    use zc_protocol::vectors::{self, Miss};

    /// The array as zarrs returns it.
    fn library_bytes(v: &Value) -> ArrayBytes<'static> {
        let dtype = v["dtype"].as_str().unwrap();
        let input = &v["input"];
        if dtype == "string" {
            let (bytes, offsets) = vectors::vlen(&vectors::strings(&input["values"]));
            return ArrayBytes::new_vlen(bytes, ArrayBytesOffsets::new(offsets).unwrap()).unwrap();
        }
        if let Some(n) = dtype.strip_prefix('U') {
            return ArrayBytes::new_flen(vectors::utf32(&vectors::strings(&input["values"]), n.parse().unwrap()));
        }
        ArrayBytes::new_flen(vectors::unhex(input["hex"].as_str().unwrap()))
    }

    /// The fill value as zarrs holds it: element bytes (S<n> NUL-padded to n, U<n> as n
    /// UTF-32 code units, `string` as UTF-8).
    fn library_fill(dtype: &str, value: &Value) -> Option<FillValue> {
        vectors::fill_bytes(dtype, value).map(FillValue::from)
    }

    #[test]
    fn array_vectors() {
        vectors::check_arrays(|v| bytes(v["dtype"].as_str().unwrap(), library_bytes(v)).map_err(Miss::Fail));
    }

    #[test]
    fn fill_value_vectors() {
        vectors::check_fills(|dtype, value| Ok(fill_json(dtype, library_fill(dtype, value).as_ref())));
    }
}
