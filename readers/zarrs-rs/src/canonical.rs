//! Canonical dtype names, bytes, hash and fill-value JSON of protocol v1 (docs/protocol.md),
//! from what zarrs returns: its data types, array bytes and fill values. The unit tests run
//! this code on the committed vectors (canonical/vectors/vectors.json).

use std::borrow::Cow;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zarrs::array::{ArrayBytes, DataType, FillValue};

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

/// The canonical bytes of a whole array of `dtype` as zarrs returns it (C order; zarrs'
/// element bytes are native-endian, i.e. little-endian here).
pub fn bytes(dtype: &str, data: ArrayBytes<'_>) -> Result<Vec<u8>, String> {
    match data {
        ArrayBytes::Fixed(bytes) => {
            let mut b = bytes.into_owned();
            if let Some(w) = float_width(dtype) {
                canonicalize_nan(&mut b, w);
            } else if dtype == "bool" {
                // zarrs hands over bool bytes as stored: any nonzero byte is True
                for x in b.iter_mut() {
                    *x = u8::from(*x != 0);
                }
            }
            Ok(b)
        }
        ArrayBytes::Variable(v) => {
            // per element: a 4-byte little-endian length, then the bytes
            let (bytes, offsets) = v.into_parts();
            let mut b = Vec::with_capacity(bytes.len() + 4 * offsets.len());
            for w in offsets.windows(2) {
                let item = &bytes[w[0]..w[1]];
                b.extend_from_slice(&(item.len() as u32).to_le_bytes());
                b.extend_from_slice(item);
            }
            Ok(b)
        }
        ArrayBytes::Optional(_) => Err("optional (masked) arrays have no canonical form".into()),
    }
}

/// "sha256:" and the hex SHA-256 of canonical bytes.
pub fn hash(canonical: &[u8]) -> String {
    let hex: String = Sha256::digest(canonical).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn float_json(x: f64) -> Value {
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

/// The protocol's JSON form of a fill value from zarrs' fill value bytes; None (the format's
/// "no fill value", a zarr v2 `fill_value: null`) is JSON null.
pub fn fill_json(dtype: &str, fill: Option<&FillValue>) -> Value {
    let Some(fill) = fill else { return Value::Null };
    let b = fill.as_ne_bytes();
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
    //! The vectors in zarrs' in-memory forms: fixed-size elements as `ArrayBytes::Fixed`
    //! (U<n> as UTF-32 code units), `string` as `ArrayBytes::Variable` (UTF-8 bytes and
    //! offsets), fill values as `FillValue` bytes. Fill values are checked in one direction:
    //! the adapter hands the case's JSON fill value to zarrs as it is, without code of its
    //! own. ZC_VECTORS names another vectors file; ZC_VECTORS_REPORT a file that gets one
    //! line per vector ("ok|skip|FAIL array|fill NAME[: why]").

    use super::*;
    use std::fmt::Write as _;
    use zarrs::array::ArrayBytesOffsets;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn hexs(b: &[u8]) -> String {
        b.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
    }

    fn vectors() -> Value {
        let path = std::env::var("ZC_VECTORS").unwrap_or_else(|_| {
            format!("{}/../../canonical/vectors/vectors.json", env!("CARGO_MANIFEST_DIR"))
        });
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the vectors file")).expect("vectors JSON")
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
    }

    fn utf32(values: &[String], n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for s in values {
            let mut units: Vec<u32> = s.chars().map(u32::from).collect();
            units.resize(n, 0);
            for u in units {
                out.extend_from_slice(&u.to_le_bytes());
            }
        }
        out
    }

    /// The array as zarrs returns it.
    fn library_bytes(v: &Value) -> ArrayBytes<'static> {
        let dtype = v["dtype"].as_str().unwrap();
        let input = &v["input"];
        if dtype == "string" {
            let values = strings(&input["values"]);
            let mut bytes = Vec::new();
            let mut offsets = vec![0usize];
            for s in &values {
                bytes.extend_from_slice(s.as_bytes());
                offsets.push(bytes.len());
            }
            return ArrayBytes::new_vlen(bytes, ArrayBytesOffsets::new(offsets).unwrap()).unwrap();
        }
        if let Some(n) = dtype.strip_prefix('U') {
            return ArrayBytes::new_flen(utf32(&strings(&input["values"]), n.parse().unwrap()));
        }
        ArrayBytes::new_flen(unhex(input["hex"].as_str().unwrap()))
    }

    /// The fill value as zarrs holds it: element bytes (S<n> NUL-padded to n, U<n> as n
    /// UTF-32 code units, `string` as UTF-8).
    fn library_fill(dtype: &str, value: &Value) -> Option<FillValue> {
        if value.is_null() {
            return None;
        }
        let bytes = if let Some(text) = value.get("text").and_then(Value::as_str) {
            match dtype {
                d if d.starts_with('U') => utf32(&[text.to_string()], d[1..].parse().unwrap()),
                d if d.starts_with('S') => {
                    let mut b = text.as_bytes().to_vec();
                    b.resize(d[1..].parse().unwrap(), 0);
                    b
                }
                _ => text.as_bytes().to_vec(),
            }
        } else {
            unhex(value["hex"].as_str().unwrap())
        };
        Some(FillValue::from(bytes))
    }

    /// Equal as protocol JSON: floats by value with the sign of zero, integers exactly.
    fn same_json(got: &Value, want: &Value, floats: bool) -> bool {
        match (got, want) {
            (Value::Array(g), Value::Array(w)) => {
                g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same_json(a, b, floats))
            }
            (Value::Number(g), Value::Number(w)) if floats => {
                g.as_f64().map(f64::to_bits) == w.as_f64().map(f64::to_bits)
            }
            (Value::Number(g), Value::Number(w)) => {
                g.is_f64() == w.is_f64() && (g.as_i64(), g.as_u64()) == (w.as_i64(), w.as_u64())
            }
            _ => got == want,
        }
    }

    struct Report(Vec<String>);

    impl Report {
        fn line(&mut self, s: String) {
            self.0.push(s);
        }
        fn finish(self, what: &str) {
            let text: String = self.0.iter().map(|l| format!("{l}\n")).collect();
            match std::env::var("ZC_VECTORS_REPORT") {
                Ok(path) => {
                    use std::io::Write;
                    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
                    f.write_all(text.as_bytes()).unwrap();
                }
                Err(_) => print!("{text}"),
            }
            let failed: Vec<&String> = self.0.iter().filter(|l| l.starts_with("FAIL")).collect();
            assert!(failed.is_empty(), "{} {what} vectors failed:\n{failed:#?}", failed.len());
        }
    }

    #[test]
    fn array_vectors() {
        let doc = vectors();
        let mut report = Report(Vec::new());
        for v in doc["arrays"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            let dtype = v["dtype"].as_str().unwrap();
            let result = bytes(dtype, library_bytes(v)).map_err(|e| e.to_string()).and_then(|got| {
                if hexs(&got) != v["canonical"].as_str().unwrap() {
                    Err(format!("canonical bytes {}", hexs(&got)))
                } else if hash(&got) != v["hash"].as_str().unwrap() {
                    Err(format!("hash {}", hash(&got)))
                } else {
                    Ok(())
                }
            });
            report.line(match result {
                Ok(()) => format!("ok array {name}"),
                Err(e) => format!("FAIL array {name}: {e}"),
            });
        }
        report.finish("array");
    }

    #[test]
    fn fill_value_vectors() {
        let doc = vectors();
        let mut report = Report(Vec::new());
        for v in doc["fill_values"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap();
            let dtype = v["dtype"].as_str().unwrap();
            // A decode-only spelling: the value it decodes to is written as canonical_json.
            let decode_only = v["decode_only"].as_bool().unwrap_or(false);
            let (value, want) =
                if decode_only { (&v["decoded"], &v["canonical_json"]) } else { (&v["value"], &v["json"]) };
            let got = fill_json(dtype, library_fill(dtype, value).as_ref());
            // as the adapter writes it, read back
            let got: Value = serde_json::from_str(&got.to_string()).unwrap();
            report.line(if same_json(&got, want, float_width(dtype).is_some()) {
                format!("ok fill {name}")
            } else {
                format!("FAIL fill {name}: wrote {got}, expected {want}")
            });
        }
        report.finish("fill value");
    }
}
