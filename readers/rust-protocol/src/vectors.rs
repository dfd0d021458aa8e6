//! Test support: the committed vectors (canonical/vectors/vectors.json, schema in
//! canonical/README.md) run on an adapter's forms. Each adapter's unit tests hand a vector over
//! in its library's in-memory form and give back what the adapter answers; [`check_arrays`] and
//! [`check_fills`] compare, report one line per vector ("ok|skip|FAIL array|fill NAME[: why]",
//! printed, or appended to the file ZC_VECTORS_REPORT names) and fail on any FAIL.
//! ZC_VECTORS names another vectors file.

use std::fmt::Write as _;

use serde_json::Value;

use crate::canonical::{float_width, hash};

/// The vectors file.
pub fn load() -> Value {
    let path = std::env::var("ZC_VECTORS").unwrap_or_else(|_| {
        format!("{}/../../canonical/vectors/vectors.json", env!("CARGO_MANIFEST_DIR"))
    });
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the vectors file")).expect("vectors JSON")
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub fn hexs(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

/// Strings as n UTF-32LE code units each (NUL-padded).
pub fn utf32(values: &[String], n: usize) -> Vec<u8> {
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

/// Strings as their UTF-8 bytes one after the other and the offsets between them.
pub fn vlen(values: &[String]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut offsets = vec![0usize];
    for s in values {
        bytes.extend_from_slice(s.as_bytes());
        offsets.push(bytes.len());
    }
    (bytes, offsets)
}

/// A fill value vector's element bytes (S<n> NUL-padded to n, U<n> as n UTF-32 code units,
/// `string` as UTF-8); None for JSON null.
pub fn fill_bytes(dtype: &str, value: &Value) -> Option<Vec<u8>> {
    if value.is_null() {
        return None;
    }
    Some(if let Some(text) = value.get("text").and_then(Value::as_str) {
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
    })
}

/// Equal as protocol JSON: floats by value with the sign of zero, integers exactly.
pub fn same_json(got: &Value, want: &Value, floats: bool) -> bool {
    match (got, want) {
        (Value::Array(g), Value::Array(w)) => g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same_json(a, b, floats)),
        (Value::Number(g), Value::Number(w)) if floats => g.as_f64().map(f64::to_bits) == w.as_f64().map(f64::to_bits),
        (Value::Number(g), Value::Number(w)) => {
            g.is_f64() == w.is_f64() && (g.as_i64(), g.as_u64()) == (w.as_i64(), w.as_u64())
        }
        _ => got == want,
    }
}

/// A vector the adapter does not serve (skip, with the reason) or gets wrong (fail, with what).
#[derive(Debug)]
pub enum Miss {
    Skip(String),
    Fail(String),
}

impl From<String> for Miss {
    fn from(s: String) -> Self {
        Miss::Fail(s)
    }
}

pub struct Report(Vec<String>);

impl Report {
    pub fn new() -> Self {
        Report(Vec::new())
    }

    pub fn line(&mut self, s: String) {
        self.0.push(s);
    }

    pub fn finish(self, what: &str) {
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

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

/// Every array vector: `canonical` gives the canonical bytes the adapter makes of it.
pub fn check_arrays(mut canonical: impl FnMut(&Value) -> Result<Vec<u8>, Miss>) {
    let doc = load();
    let mut report = Report::new();
    for v in doc["arrays"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let result = canonical(v).and_then(|got| {
            if hexs(&got) != v["canonical"].as_str().unwrap() {
                Err(Miss::Fail(format!("canonical bytes {}", hexs(&got))))
            } else if hash(&got) != v["hash"].as_str().unwrap() {
                Err(Miss::Fail(format!("hash {}", hash(&got))))
            } else {
                Ok(())
            }
        });
        report.line(match result {
            Ok(()) => format!("ok array {name}"),
            Err(Miss::Skip(why)) => format!("skip array {name}: {why}"),
            Err(Miss::Fail(e)) => format!("FAIL array {name}: {e}"),
        });
    }
    report.finish("array");
}

/// Every fill value vector: `fill_json` gives what the adapter answers for the value (dtype and
/// the vector's value: `value`, or `decoded` for a decode-only spelling, whose expected JSON is
/// then `canonical_json`). It is compared as the harness reads it back.
pub fn check_fills(mut fill_json: impl FnMut(&str, &Value) -> Result<Value, Miss>) {
    let doc = load();
    let mut report = Report::new();
    for v in doc["fill_values"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let dtype = v["dtype"].as_str().unwrap();
        let decode_only = v["decode_only"].as_bool().unwrap_or(false);
        let (value, want) = if decode_only { (&v["decoded"], &v["canonical_json"]) } else { (&v["value"], &v["json"]) };
        report.line(match fill_json(dtype, value) {
            Ok(got) => {
                // as the adapter writes it, read back
                let got: Value = serde_json::from_str(&got.to_string()).unwrap();
                if same_json(&got, want, float_width(dtype).is_some()) {
                    format!("ok fill {name}")
                } else {
                    format!("FAIL fill {name}: wrote {got}, expected {want}")
                }
            }
            Err(Miss::Skip(why)) => format!("skip fill {name}: {why}"),
            Err(Miss::Fail(e)) => format!("FAIL fill {name}: {e}"),
        });
    }
    report.finish("fill value");
}
