//! Bakes the versions of the key crates, as resolved in the committed Cargo.lock, into the
//! binary: N5_CRATE_VERSION (the n5 crate's own version, which it does not export: its
//! `n5::VERSION` is the version of the N5 format it implements) and LOCKED_VERSIONS (a JSON
//! object of the other components).

use std::fs;

#[path = "../rust-protocol/src/locked_versions.rs"]
mod locked_versions;

const COMPONENTS: &[&str] = &["flate2", "bzip2", "lz4", "xz2", "ndarray", "serde_json"];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../rust-protocol/src/locked_versions.rs");
    let lock = fs::read_to_string("Cargo.lock").expect("Cargo.lock (the adapter is built with --locked)");
    let n5 = locked_versions::locked_versions(&lock, &["n5"]);
    let (_, n5) = n5.first().expect("the n5 crate in Cargo.lock");
    println!("cargo:rustc-env=N5_CRATE_VERSION={n5}");
    let found = locked_versions::locked_versions(&lock, COMPONENTS);
    println!("cargo:rustc-env=LOCKED_VERSIONS={}", locked_versions::json_object(&found));
}
