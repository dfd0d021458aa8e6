//! Canonical bytes, hash and fill-value JSON of protocol v1 (docs/protocol.md), from the forms
//! every library can give: little-endian element bytes in C order, variable-length elements as
//! bytes and offsets, a fill value as its element bytes. The adapters turn their library's own
//! forms into these; the committed vectors (canonical/vectors/vectors.json) test both layers.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Width in bytes of the float parts of a float/complex dtype (None otherwise).
pub fn float_width(dtype: &str) -> Option<usize> {
    match dtype {
        "float16" => Some(2),
        "float32" | "complex64" => Some(4),
        "float64" | "complex128" => Some(8),
        _ => None,
    }
}

/// Replace every NaN of little-endian floats of `width` bytes by the canonical quiet NaN.
pub fn canonicalize_nan(bytes: &mut [u8], width: usize) {
    for part in bytes.chunks_exact_mut(width) {
        match width {
            2 => {
                let v = u16::from_le_bytes([part[0], part[1]]);
                if v & 0x7c00 == 0x7c00 && v & 0x03ff != 0 {
                    part.copy_from_slice(&0x7e00u16.to_le_bytes());
                }
            }
            4 => {
                if f32::from_le_bytes(part.try_into().unwrap()).is_nan() {
                    part.copy_from_slice(&0x7fc0_0000u32.to_le_bytes());
                }
            }
            8 => {
                if f64::from_le_bytes(part.try_into().unwrap()).is_nan() {
                    part.copy_from_slice(&0x7ff8_0000_0000_0000u64.to_le_bytes());
                }
            }
            _ => {}
        }
    }
}

/// The canonical bytes of fixed-size elements of `dtype`: little-endian element bytes in C order
/// (U<n> as n UTF-32LE code units, S<n> as n bytes), NaNs made canonical, bools 0/1.
pub fn fixed(dtype: &str, mut b: Vec<u8>) -> Vec<u8> {
    if let Some(w) = float_width(dtype) {
        canonicalize_nan(&mut b, w);
    } else if dtype == "bool" {
        // a library may hand over bool bytes as stored: any nonzero byte is True
        for x in b.iter_mut() {
            *x = u8::from(*x != 0);
        }
    }
    b
}

/// The canonical bytes of variable-length elements (`string`): the elements' bytes one after the
/// other and their offsets (one more than the elements: 0, end of the first, ...). Per element:
/// a 4-byte little-endian length, then the bytes.
pub fn variable(bytes: &[u8], offsets: &[usize]) -> Vec<u8> {
    let mut b = Vec::with_capacity(bytes.len() + 4 * offsets.len());
    for w in offsets.windows(2) {
        let item = &bytes[w[0]..w[1]];
        b.extend_from_slice(&(item.len() as u32).to_le_bytes());
        b.extend_from_slice(item);
    }
    b
}

/// "sha256:" and the hex SHA-256 of canonical bytes.
pub fn hash(canonical: &[u8]) -> String {
    let hex: String = Sha256::digest(canonical).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A float in the protocol's JSON: a number, or "NaN", "Infinity", "-Infinity".
pub fn float_json(x: f64) -> Value {
    if x.is_nan() {
        json!("NaN")
    } else if x.is_infinite() {
        json!(if x > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(x)
    }
}

fn f16_at(b: &[u8]) -> f64 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f64()
}
fn f32_at(b: &[u8]) -> f64 {
    f32::from_le_bytes(b[..4].try_into().unwrap()) as f64
}
fn f64_at(b: &[u8]) -> f64 {
    f64::from_le_bytes(b[..8].try_into().unwrap())
}

/// The protocol's JSON form of a fill value from its element bytes (little-endian; S<n>
/// NUL-padded, U<n> as UTF-32LE code units, `string` as UTF-8); None (the format's "no fill
/// value", a zarr v2 `fill_value: null`, N5) is JSON null.
pub fn fill_json(dtype: &str, fill: Option<&[u8]>) -> Value {
    let Some(b) = fill else { return Value::Null };
    macro_rules! int {
        ($t:ty) => {
            json!(<$t>::from_le_bytes(b.try_into().unwrap()))
        };
    }
    match dtype {
        "bool" => json!(b[0] != 0),
        "int8" => int!(i8),
        "int16" => int!(i16),
        "int32" => int!(i32),
        "int64" => int!(i64),
        "uint8" => int!(u8),
        "uint16" => int!(u16),
        "uint32" => int!(u32),
        "uint64" => int!(u64),
        "float16" => float_json(f16_at(b)),
        "float32" => float_json(f32_at(b)),
        "float64" => float_json(f64_at(b)),
        "complex64" => json!([float_json(f32_at(&b[..4])), float_json(f32_at(&b[4..]))]),
        "complex128" => json!([float_json(f64_at(&b[..8])), float_json(f64_at(&b[8..]))]),
        "string" => json!(String::from_utf8_lossy(b)),
        d if d.starts_with('U') => {
            let s: String = b
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect();
            json!(s.trim_end_matches('\0'))
        }
        d if d.starts_with('S') => {
            // base64 of the bytes without the trailing NULs (they are padding)
            let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
            json!(base64::engine::general_purpose::STANDARD.encode(&b[..end]))
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    //! The vectors in this crate's own forms: fixed-size elements as little-endian bytes (U<n> as
    //! UTF-32 code units), `string` as UTF-8 bytes and offsets, fill values as element bytes.

    use super::*;
    use crate::vectors::{self, Miss};

    #[test]
    fn array_vectors() {
        vectors::check_arrays(|v| {
            let dtype = v["dtype"].as_str().unwrap();
            let input = &v["input"];
            if dtype == "string" {
                let (bytes, offsets) = vectors::vlen(&vectors::strings(&input["values"]));
                return Ok(variable(&bytes, &offsets));
            }
            if let Some(n) = dtype.strip_prefix('U') {
                return Ok(fixed(dtype, vectors::utf32(&vectors::strings(&input["values"]), n.parse().unwrap())));
            }
            Ok::<_, Miss>(fixed(dtype, vectors::unhex(input["hex"].as_str().unwrap())))
        });
    }

    #[test]
    fn fill_value_vectors() {
        vectors::check_fills(|dtype, value| Ok(fill_json(dtype, vectors::fill_bytes(dtype, value).as_deref())));
    }
}
