//! Bakes the versions of the key crates, as resolved in the committed Cargo.lock,
//! into the binary (`LOCKED_VERSIONS`, a JSON object). The zarrs version itself
//! comes from the constant zarrs exports (`zarrs::version::version_str()`).

use std::fs;

#[path = "../rust-protocol/src/locked_versions.rs"]
mod locked_versions;

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
    println!("cargo:rerun-if-changed=../rust-protocol/src/locked_versions.rs");
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    let found = locked_versions::locked_versions(&lock, COMPONENTS);
    println!("cargo:rustc-env=LOCKED_VERSIONS={}", locked_versions::json_object(&found));
}
