//! Bakes the versions of the key crates, as resolved in the committed Cargo.lock,
//! into the binary (`LOCKED_VERSIONS`, a JSON object). The zarrs version itself
//! comes from the constant zarrs exports (`zarrs::version::version_str()`).

use std::fs;

const COMPONENTS: &[&str] = &[
    "zarrs_n5",
    "zarrs_object_store",
    "object_store",
    "zarrs_storage",
    "zarrs_filesystem",
    "zarrs_metadata",
    "zarrs_codec",
    "zarrs_data_type",
    "blosc-src",
    "zstd-sys",
    "flate2",
    "bzip2",
    "pco",
    "crc32c",
    "tokio",
    "serde_json",
];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found: Vec<(String, String)> = Vec::new();
    let mut name: Option<String> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ") {
            if let Some(n) = name.take() {
                if COMPONENTS.contains(&n.as_str()) && !found.iter().any(|(k, _)| *k == n) {
                    found.push((n, v.trim_matches('"').to_string()));
                }
            }
        }
    }
    found.sort_by_key(|(k, _)| COMPONENTS.iter().position(|c| c == k));
    let body: Vec<String> = found.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    println!("cargo:rustc-env=LOCKED_VERSIONS={{{}}}", body.join(","));
}
