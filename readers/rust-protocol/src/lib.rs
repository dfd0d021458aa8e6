//! zarr-conformance protocols 1 and 2 (docs/protocol.md) for the adapters written in Rust
//! (readers/zarrs-rs, readers/rust-n5): one library, so that they answer alike.
//!
//! * the JSON-lines loop on stdin/stdout (`serve`, the default) and the one-shot command line
//!   (`hello`, `read ...`, `write ...`) through the same code path ([`run`]); an adapter gives its
//!   `hello` answer, its `read` and its `write` ([`Adapter`]);
//! * the region of a read (protocol 2): parsed and checked, with the bounding box and the
//!   elements to keep from it for a library without strided selection ([`region`]);
//! * outcomes ([`Failure`]: unsupported, error as "Type: message", bad request) and panics caught
//!   per request, so that one bad dataset never ends the worker;
//! * the canonical bytes, hash and fill-value JSON ([`canonical`]), the reference data handed to
//!   writers ([`reference`]), and the test support that runs the committed vectors on an
//!   adapter's library forms ([`vectors`]).
//!
//! Only responses go to stdout; panics go to stderr.

use std::any::type_name;
use std::fmt::Display;
use std::io::{BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Map, Value, json};

pub mod canonical;
pub mod reference;
pub mod region;
pub mod vectors;

// Canonical bytes are little-endian, and the adapters take the libraries' in-memory element
// bytes as they are: the two coincide only on a little-endian host.
#[cfg(target_endian = "big")]
compile_error!("the Rust adapters assume a little-endian host");

/// The protocol the Rust adapters speak: 2, reads of a region.
pub const PROTOCOL: u64 = 2;

// ---------------------------------------------------------------------------
// Outcomes

/// Why a request did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The library lacks the feature (the reason, with the library's own text where there is one).
    Unsupported(String),
    /// The library (or the file system) raised an error: "Type: message".
    Error(String),
    /// The request itself is malformed.
    BadRequest(String),
}

pub type R<T> = Result<T, Failure>;

/// The last path segment of a type's name, without generic parameters.
pub fn short_type_name<E>() -> &'static str {
    let full = type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// An error as "Type: message".
pub fn err_text<E: Display>(e: &E) -> String {
    format!("{}: {}", short_type_name::<E>(), e)
}

/// An error of the library (or the file system) as a [`Failure::Error`].
pub fn error<E: Display>(e: E) -> Failure {
    Failure::Error(err_text(&e))
}

// ---------------------------------------------------------------------------
// Request helpers

pub fn field<'a>(obj: &'a Value, key: &str) -> R<&'a Value> {
    obj.get(key).ok_or_else(|| Failure::BadRequest(format!("missing {key}")))
}

pub fn str_field<'a>(obj: &'a Value, key: &str) -> R<&'a str> {
    field(obj, key)?
        .as_str()
        .ok_or_else(|| Failure::BadRequest(format!("{key} must be a string")))
}

pub fn u64_list(obj: &Value, key: &str) -> R<Vec<u64>> {
    field(obj, key)?
        .as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| Failure::BadRequest(format!("{key} must be a list of integers")))
}

/// A JSON object (an absent or non-object value: empty).
pub fn object(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

/// The chunks of `case.missing_chunks` (grid indices, C order).
pub fn missing_chunks(case: &Value) -> Vec<Vec<u64>> {
    case.get("missing_chunks")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_array().map(|c| c.iter().filter_map(Value::as_u64).collect()))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The adapter and its loop

/// What an adapter gives: its handshake, its read and its write. The requests are the protocol's
/// JSON objects; an `Ok` answer is the response without its `id` (the loop adds it).
pub trait Adapter {
    /// The executable's name, for the usage text.
    fn program(&self) -> &str;
    /// The whole `hello` response (`ok`, `impl`, `version`, `language`, `verbs`, `protocol`, ...).
    fn hello(&self) -> Value;
    fn read(&self, req: &Value) -> R<Value>;
    fn write(&self, req: &Value) -> R<Value>;
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// The response to one request (`bye` excepted).
pub fn handle<A: Adapter + ?Sized>(adapter: &A, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let op = req.get("op").and_then(Value::as_str).unwrap_or("");
    let result = match op {
        "hello" => return adapter.hello(),
        "read" | "write" => catch_unwind(AssertUnwindSafe(|| {
            if op == "read" { adapter.read(req) } else { adapter.write(req) }
        }))
        .unwrap_or_else(|p| Err(Failure::Error(format!("panic: {}", panic_text(p.as_ref()))))),
        other => Err(Failure::BadRequest(format!("unknown op {other:?}"))),
    };
    match result {
        Ok(mut resp) => {
            resp["id"] = id;
            resp
        }
        Err(Failure::Unsupported(m)) => json!({"id": id, "status": "unsupported", "error": m}),
        Err(Failure::Error(m)) => json!({"id": id, "status": "error", "error": m}),
        Err(Failure::BadRequest(m)) => json!({"id": id, "status": "error", "error": format!("BadRequest: {m}")}),
    }
}

/// The persistent loop: one JSON request a line on stdin, one response a line on stdout.
pub fn serve<A: Adapter + ?Sized>(adapter: &A) -> i32 {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let resp = match serde_json::from_str::<Value>(line) {
            Ok(req) if req.is_object() => {
                if req.get("op").and_then(Value::as_str) == Some("bye") {
                    return 0;
                }
                handle(adapter, &req)
            }
            Ok(_) => json!({"id": null, "status": "error", "error": "BadRequest: a request is a JSON object"}),
            Err(e) => json!({"id": null, "status": "error", "error": format!("BadRequest: {e}")}),
        };
        if writeln!(stdout, "{resp}").and_then(|_| stdout.flush()).is_err() {
            return 1;
        }
    }
    0
}

fn usage(program: &str) -> i32 {
    eprintln!(
        "usage: {program} [serve]\n       {program} hello\n       {program} read --target-json J --path P --format F [--dump D] [--region-json R]\n       {program} write --case-json J|@file --data F --target-json J"
    );
    2
}

fn arg_json(text: &str) -> Result<Value, String> {
    let text = match text.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// One request from the command line, through the same code path; prints the response.
pub fn one_shot<A: Adapter + ?Sized>(adapter: &A, cmd: &str, args: &[String]) -> i32 {
    let program = adapter.program();
    let mut opts: Map<String, Value> = Map::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(key) = a.strip_prefix("--") else { return usage(program) };
        let Some(val) = it.next() else { return usage(program) };
        opts.insert(key.to_string(), Value::String(val.clone()));
    }
    let get = |k: &str| opts.get(k).and_then(Value::as_str).map(str::to_string);
    let req = match cmd {
        "hello" => json!({"op": "hello", "protocol": PROTOCOL}),
        "read" => {
            let Some(t) = get("target-json") else { return usage(program) };
            let target = match arg_json(&t) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("--target-json: {e}");
                    return 2;
                }
            };
            let region = match get("region-json").map(|r| arg_json(&r)).transpose() {
                Ok(r) => r.unwrap_or(Value::Null),
                Err(e) => {
                    eprintln!("--region-json: {e}");
                    return 2;
                }
            };
            json!({"op": "read", "id": "cli", "target": target, "path": get("path").unwrap_or_default(),
                   "format": get("format"), "dump": get("dump"), "region": region})
        }
        "write" => {
            let (Some(c), Some(d), Some(t)) = (get("case-json"), get("data"), get("target-json")) else {
                return usage(program);
            };
            let (case, target) = match (arg_json(&c), arg_json(&t)) {
                (Ok(c), Ok(t)) => (c, t),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("bad JSON argument: {e}");
                    return 2;
                }
            };
            json!({"op": "write", "id": "cli", "case": case, "data": d, "target": target})
        }
        _ => return usage(program),
    };
    let resp = handle(adapter, &req);
    println!("{}", serde_json::to_string_pretty(&resp).unwrap_or_default());
    let ok = resp.get("ok").and_then(Value::as_bool) == Some(true)
        || resp.get("status").and_then(Value::as_str) == Some("ok");
    if ok { 0 } else { 1 }
}

/// The adapter's main: the persistent loop with no arguments (or `serve`), else one request.
/// Returns the exit status.
pub fn run<A: Adapter + ?Sized>(adapter: &A) -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve(adapter),
        Some(cmd) => one_shot(adapter, cmd, &args[1..]),
    }
}
