//! For the Rust adapters' build scripts, which include this file with `#[path]` (it is not a module
//! of the crate): the versions of some packages as resolved in the adapter's committed Cargo.lock,
//! to be baked into the binary and reported in the handshake.

/// The version of each package of `names` found in the lock (its first entry), in the order of `names`.
pub fn locked_versions(lock: &str, names: &[&str]) -> Vec<(String, String)> {
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
                if names.contains(&n.as_str()) && !found.iter().any(|(k, _)| *k == n) {
                    found.push((n, v.trim_matches('"').to_string()));
                }
            }
        }
    }
    found.sort_by_key(|(k, _)| names.iter().position(|c| c == k));
    found
}

/// A JSON object of name -> version, in the given order.
pub fn json_object(versions: &[(String, String)]) -> String {
    let body: Vec<String> = versions.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    format!("{{{}}}", body.join(","))
}
