//! Bakes the versions of the key crates, as resolved in the committed Cargo.lock, into the
//! binary: N5_CRATE_VERSION (the n5 crate's own version, which it does not export: its
//! `n5::VERSION` is the version of the N5 format it implements) and LOCKED_VERSIONS (a JSON
//! object of the other components).

use std::fs;

const COMPONENTS: &[&str] = &["flate2", "bzip2", "lz4", "xz2", "ndarray", "serde_json"];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
    let lock = fs::read_to_string("Cargo.lock").expect("Cargo.lock (the adapter is built with --locked)");
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
                if (n == "n5" || COMPONENTS.contains(&n.as_str())) && !found.iter().any(|(k, _)| *k == n) {
                    found.push((n, v.trim_matches('"').to_string()));
                }
            }
        }
    }
    let n5 = found.iter().find(|(k, _)| k == "n5").map(|(_, v)| v.clone()).expect("the n5 crate in Cargo.lock");
    println!("cargo:rustc-env=N5_CRATE_VERSION={n5}");
    found.retain(|(k, _)| k != "n5");
    found.sort_by_key(|(k, _)| COMPONENTS.iter().position(|c| c == k));
    let body: Vec<String> = found.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    println!("cargo:rustc-env=LOCKED_VERSIONS={{{}}}", body.join(","));
}
