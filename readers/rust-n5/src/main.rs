//! zarr-conformance adapter (protocols 1 and 2) for the `n5` crate (github.com/aschampion/rust-n5).
//!
//! One process serves many JSON-lines requests on stdin/stdout (`serve`, the default), and the
//! same code path runs one request from a shell (`hello`, `read ...`, `write ...`); the loop,
//! the outcomes and the canonical bytes are the Rust adapters' shared crate (readers/rust-protocol).
//!
//! * N5 only: the crate has no Zarr; zarr2 and zarr3 requests are answered `unsupported`.
//! * Local directories only: the crate's one backend is `N5Filesystem`; the other stores are
//!   answered `unsupported`.
//! * Reads as its users read a whole array: `N5Filesystem::open`, `get_dataset_attributes`,
//!   `read_ndarray` over the dataset's bounds (missing blocks stay zero). The crate presents
//!   N5's own axis order (dimensions fastest-varying first) as a column-major ndarray; the
//!   protocol compares the reversed, C-order view, which is that array's transpose.
//! * A region (protocol 2) is read as its users read part of a dataset: `read_ndarray` over a
//!   `BoundingBox` (the region's axes reversed into N5's order), which reads only the blocks the
//!   box touches. A bounding box has no step, so the adapter reads the region's box and keeps
//!   every step-th element per axis of its C-order view (an ndarray slice with a step).
//! * Writes with `N5Filesystem::open_or_create`, `create_group`, `create_dataset`,
//!   `set_attributes` and `write_ndarray` (the whole array, or block by block leaving out the
//!   case's missing chunks); the compression is the case's N5 `compression` object as the
//!   crate deserializes it (`CompressionType`).
//! * N5 has no fill value: reads answer `fill_value: null`. The user attributes are the
//!   array's attributes.json less N5's dataset keys (and, at the container root, its "n5"
//!   version key).
//! * hello.version is the n5 crate's version in Cargo.lock, baked in by build.rs (the crate
//!   exports none: `n5::VERSION` is the N5 format version it implements, given as a component).

use std::time::Instant;

// data_type_match! expands to data_type_rstype_replace!, which calls itself without a path: both are imported.
use n5::{data_type_match, data_type_rstype_replace};
use n5::ndarray::prelude::*;
use n5::prelude::*;
use n5::{ReadableDataBlock, ReinitDataBlock, WriteableDataBlock};
use ndarray::{ArrayView, Axis, IxDyn, ShapeBuilder, Slice};
use serde_json::{Map, Value, json};
use zc_protocol::reference::{Elements, chunk_grid};
use zc_protocol::region::{Region, region};
use zc_protocol::{
    Adapter, Failure, PROTOCOL, R, canonical, err_text, error, field, missing_chunks, object, str_field, u64_list,
};

/// The keys of an N5 dataset's attributes.json that describe the dataset, not the user's data.
const DATASET_KEYS: &[&str] = &["dimensions", "blockSize", "dataType", "compression"];

// ---------------------------------------------------------------------------
// Element types

/// An element type of N5 (and of the n5 crate), with its little-endian bytes.
trait Element: ReflectedType + num_traits::Zero + Copy {
    const SIZE: usize;
    fn put_le(self, out: &mut Vec<u8>);
    fn from_le(b: &[u8]) -> Self;
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn from_le(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().unwrap())
            }
        }
    )*};
}
element!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64);

/// The canonical dtype name of an N5 data type.
fn dtype_name(dt: DataType) -> &'static str {
    match dt {
        DataType::UINT8 => "uint8",
        DataType::UINT16 => "uint16",
        DataType::UINT32 => "uint32",
        DataType::UINT64 => "uint64",
        DataType::INT8 => "int8",
        DataType::INT16 => "int16",
        DataType::INT32 => "int32",
        DataType::INT64 => "int64",
        DataType::FLOAT32 => "float32",
        DataType::FLOAT64 => "float64",
    }
}

fn n5_data_type(dtype: &str) -> R<DataType> {
    Ok(match dtype {
        "uint8" => DataType::UINT8,
        "uint16" => DataType::UINT16,
        "uint32" => DataType::UINT32,
        "uint64" => DataType::UINT64,
        "int8" => DataType::INT8,
        "int16" => DataType::INT16,
        "int32" => DataType::INT32,
        "int64" => DataType::INT64,
        "float32" => DataType::FLOAT32,
        "float64" => DataType::FLOAT64,
        other => {
            return Err(Failure::Unsupported(format!(
                "the n5 crate has no data type for {other} (its DataType: uint8..uint64, int8..int64, float32, float64)"
            )));
        }
    })
}

/// The canonical bytes of elements given in C order.
fn canonical_of<'a, T: Element + 'a>(dtype: &str, values: impl ExactSizeIterator<Item = &'a T>) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * T::SIZE);
    for &x in values {
        x.put_le(&mut out);
    }
    canonical::fixed(dtype, out)
}

// ---------------------------------------------------------------------------
// Stores and formats

/// The dataset root of a STORE object: the crate reaches local directories only.
fn local_root<'a>(target: &'a Value, verb: &str) -> R<&'a str> {
    match str_field(target, "kind")? {
        "local" => str_field(target, "path"),
        kind @ ("s3" | "http" | "gcs" | "azure") => Err(Failure::Unsupported(format!(
            "the n5 crate has no {kind} backend: its only backend is N5Filesystem (local directories), so it cannot \
             {verb} this store"
        ))),
        other => Err(Failure::Unsupported(format!("store kind {other:?} is not known to this adapter"))),
    }
}

fn zarr_unsupported(fmt: &str) -> Failure {
    Failure::Unsupported(format!("the n5 crate reads and writes N5 only: it has no Zarr ({fmt})"))
}

/// The crate's errors about what it does not know (a compression, a data type) while reading
/// attributes.json are `unsupported`; all else is an error.
fn metadata_failure(e: std::io::Error) -> Failure {
    let text = err_text(&e);
    if text.contains("unknown variant") { Failure::Unsupported(text) } else { Failure::Error(text) }
}

// ---------------------------------------------------------------------------
// read

/// The dataset's bounds, or the bounding box of `region` (given in the C-order view) in N5's order.
fn bounding_box(attrs: &DatasetAttributes, region: Option<&Region>) -> BoundingBox {
    match region {
        None => attrs.get_bounds(),
        Some(r) => {
            let r = r.reversed();
            BoundingBox::new(r.0.iter().map(|s| s.start).collect(), r.0.iter().map(|s| s.stop - s.start).collect())
        }
    }
}

fn read_as<T: Element>(
    n5: &N5Filesystem,
    path: &str,
    attrs: &DatasetAttributes,
    dtype: &str,
    region: Option<&Region>,
) -> R<Vec<u8>>
where
    VecDataBlock<T>: DataBlock<T> + ReinitDataBlock<T> + ReadableDataBlock,
{
    let arr = n5.read_ndarray::<T>(path, attrs, &bounding_box(attrs, region)).map_err(error)?;
    // A column-major array in N5's axis order: its transpose, in logical order, is the C-order view.
    let mut view = arr.t();
    if let Some(region) = region {
        // The crate's bounding box has no step: of the box it read, every step-th element per axis.
        for (k, s) in region.0.iter().enumerate() {
            view.slice_axis_inplace(Axis(k), Slice::new(0, None, s.step as isize));
        }
    }
    Ok(canonical_of(dtype, view.iter()))
}

fn do_read(req: &Value) -> R<Value> {
    let target = field(req, "target")?;
    let path = req.get("path").and_then(Value::as_str).unwrap_or("");
    let root = local_root(target, "read")?;
    match req.get("format").and_then(Value::as_str) {
        None | Some("n5") => {}
        Some(f @ ("zarr2" | "zarr3")) => return Err(zarr_unsupported(f)),
        Some(other) => return Err(Failure::BadRequest(format!("unknown format {other:?}"))),
    }
    let region = region(req)?;
    let t0 = Instant::now();
    let n5 = N5Filesystem::open(root).map_err(error)?;
    let attrs = n5.get_dataset_attributes(path).map_err(metadata_failure)?;
    // N5 lists dimensions fastest-varying first; the protocol's view is C order.
    let mut shape: Vec<u64> = attrs.get_dimensions().iter().rev().copied().collect();
    if let Some(region) = &region {
        region.check(&shape)?;
        shape = region.shape();
    }
    let data_type = *attrs.get_data_type();
    let dtype = dtype_name(data_type);
    let raw = data_type_match!(data_type, { read_as::<RsType>(&n5, path, &attrs, dtype, region.as_ref())? });
    let elapsed = t0.elapsed().as_secs_f64() * 1000.0;

    let mut attributes: Map<String, Value> = object(Some(&n5.list_attributes(path).map_err(error)?));
    for key in DATASET_KEYS {
        attributes.remove(*key);
    }
    if path.trim_matches('/').is_empty() {
        // A root array: the container's version key sits in the same attributes.json.
        attributes.remove("n5");
    }
    if let Some(dump) = req.get("dump").and_then(Value::as_str) {
        std::fs::write(dump, &raw).map_err(error)?;
    }
    Ok(json!({
        "status": "ok",
        "shape": shape,
        "dtype": dtype,
        "hash": canonical::hash(&raw),
        "fill_value": null,
        "attributes": attributes,
        "elapsed_ms": (elapsed * 1000.0).round() / 1000.0,
    }))
}

// ---------------------------------------------------------------------------
// write

/// The case's N5 compression as the crate deserializes it (absent: raw).
fn n5_compression(comp: Option<&Value>) -> R<CompressionType> {
    let comp = comp.filter(|v| !v.is_null()).cloned().unwrap_or_else(|| json!({"type": "raw"}));
    if comp.get("type").and_then(Value::as_str) == Some("gzip") && comp.get("useZlib").and_then(Value::as_bool) == Some(true) {
        return Err(Failure::Unsupported(
            "the n5 crate's gzip compression has no useZlib option (it writes gzip streams only)".into(),
        ));
    }
    serde_json::from_value::<CompressionType>(comp).map_err(|e| {
        let text = err_text(&e);
        if text.contains("unknown variant") {
            Failure::Unsupported(format!("the n5 crate has no such compression: {text}"))
        } else {
            Failure::Error(text)
        }
    })
}

/// The view of `view` over element `ranges` (one per axis).
fn sub_view<'a, T>(view: &ArrayView<'a, T, IxDyn>, ranges: &[std::ops::Range<u64>]) -> ArrayView<'a, T, IxDyn> {
    let mut v = view.clone();
    for (k, r) in ranges.iter().enumerate() {
        v.slice_axis_inplace(Axis(k), Slice::from(r.start as isize..r.end as isize));
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn write_as<T: Element>(
    n5: &N5Filesystem,
    path: &str,
    attrs: &DatasetAttributes,
    bytes: &[u8],
    shape: &[u64],
    chunks: &[u64],
    missing: &[Vec<u64>],
) -> R<()>
where
    VecDataBlock<T>: DataBlock<T> + ReadableDataBlock + WriteableDataBlock,
{
    let values: Vec<T> = bytes.chunks_exact(T::SIZE).map(T::from_le).collect();
    // The case's C-order array is, in memory, the column-major array of N5's reversed dimensions.
    let dims: Vec<usize> = shape.iter().rev().map(|&s| s as usize).collect();
    let view = ArrayView::from_shape(IxDyn(&dims).f(), &values).map_err(error)?;
    if missing.is_empty() {
        let origin: GridCoord = dims.iter().map(|_| 0).collect();
        return n5.write_ndarray(path, attrs, origin, view, T::zero()).map_err(error);
    }
    // Block by block, leaving out the missing ones (a chunk of the case is an N5 block, its
    // grid position reversed).
    for (idx, ranges) in chunk_grid(shape, chunks) {
        if missing.contains(&idx) {
            continue;
        }
        let ranges: Vec<std::ops::Range<u64>> = ranges.into_iter().rev().collect();
        let offset: GridCoord = ranges.iter().map(|r| r.start).collect();
        n5.write_ndarray(path, attrs, offset, sub_view(&view, &ranges), T::zero()).map_err(error)?;
    }
    Ok(())
}

fn do_write(req: &Value) -> R<Value> {
    let case = field(req, "case")?;
    let data_path = str_field(req, "data")?;
    let target = field(req, "target")?;
    let fmt = str_field(case, "format")?;
    if fmt != "n5" {
        return Err(zarr_unsupported(fmt));
    }
    let root = local_root(target, "write")?;
    let dtype = str_field(case, "dtype")?;
    let data_type = n5_data_type(dtype)?;
    let compression = n5_compression(case.get("compression"))?;
    let shape = u64_list(case, "shape")?;
    let chunks = u64_list(case, "chunks")?;
    if shape.len() != chunks.len() || shape.is_empty() {
        return Err(Failure::BadRequest("shape and chunks must be lists of the same length (N5 has no 0-d arrays)".into()));
    }
    let case_path = case.get("path").and_then(Value::as_str).unwrap_or("array").trim_matches('/');
    let n: u64 = shape.iter().product();
    let Elements::Fixed { bytes, .. } = Elements::from_canonical(std::fs::read(data_path).map_err(error)?, dtype, n as usize)?
    else {
        return Err(Failure::BadRequest(format!("{dtype} is not a fixed-size dtype")));
    };

    // N5 lists dimensions and block sizes fastest-varying first: the case's, reversed.
    let dims: GridCoord = shape.iter().rev().copied().collect();
    let block: BlockCoord = chunks
        .iter()
        .rev()
        .map(|&c| u32::try_from(c))
        .collect::<Result<_, _>>()
        .map_err(|_| Failure::BadRequest("a chunk size beyond 2^32".into()))?;
    let attrs = DatasetAttributes::new(dims, block, data_type, compression);

    // The container (its root attributes.json holds the N5 version), then the groups: the root,
    // every listed group and every ancestor of the array. An array at the root (path "") IS the
    // dataset: its attributes.json is the container's.
    let n5 = N5Filesystem::open_or_create(root).map_err(error)?;
    let root_array = case_path.is_empty();
    let listed = object(case.get("groups"));
    let mut groups: Vec<String> = if root_array { Vec::new() } else { vec![String::new()] };
    groups.extend(
        listed
            .keys()
            .map(|k| k.trim_matches('/').to_string())
            .filter(|g| !(root_array && g.is_empty())),
    );
    let parts: Vec<&str> = case_path.split('/').collect();
    for i in 1..parts.len() {
        groups.push(parts[..i].join("/"));
    }
    groups.sort_by_key(|g| (if g.is_empty() { 0 } else { g.matches('/').count() + 1 }, g.clone()));
    groups.dedup();
    for g in &groups {
        n5.create_group(g).map_err(error)?;
        let group_attrs = object(listed.get(g.as_str()));
        if !group_attrs.is_empty() {
            n5.set_attributes(g, group_attrs).map_err(error)?;
        }
    }

    n5.create_dataset(case_path, &attrs).map_err(error)?;
    let user = object(case.get("attributes"));
    if !user.is_empty() {
        n5.set_attributes(case_path, user).map_err(error)?;
    }
    let missing = missing_chunks(case);
    data_type_match!(data_type, { write_as::<RsType>(&n5, case_path, &attrs, &bytes, &shape, &chunks, &missing)? });
    Ok(json!({"status": "ok"}))
}

// ---------------------------------------------------------------------------
// Protocol (the loop and the one-shot command line: zc_protocol)

struct RustN5;

impl Adapter for RustN5 {
    fn program(&self) -> &str {
        "rust-n5-adapter"
    }

    fn hello(&self) -> Value {
        let mut components: Value = serde_json::from_str(env!("LOCKED_VERSIONS")).unwrap_or_else(|_| json!({}));
        // The version of the N5 format the crate implements (and accepts up to its major version).
        components["n5_format"] = json!(n5::VERSION.to_string());
        json!({
            "ok": true,
            "impl": "rust-n5",
            "version": env!("N5_CRATE_VERSION"),
            "language": "rust",
            "verbs": ["read", "write"],
            "protocol": PROTOCOL,
            "components": components,
        })
    }

    fn read(&self, req: &Value) -> R<Value> {
        do_read(req)
    }

    fn write(&self, req: &Value) -> R<Value> {
        do_write(req)
    }
}

fn main() {
    std::process::exit(zc_protocol::run(&RustN5));
}

#[cfg(test)]
mod tests {
    //! The vectors of N5's data types in the crate's in-memory form (a Vec of the element type,
    //! what read_ndarray holds), through the adapter's conversion. The others have no N5 form:
    //! N5 has no bool, float16, complex or string data types, and no fill value (reads answer
    //! null), so those vectors are skipped with the reason.

    use super::*;
    use zc_protocol::vectors::{self, Miss};

    fn library_canonical<T: Element>(dtype: &str, hex: &str) -> Vec<u8> {
        let values: Vec<T> = vectors::unhex(hex).chunks_exact(T::SIZE).map(T::from_le).collect();
        canonical_of(dtype, values.iter())
    }

    #[test]
    fn array_vectors() {
        vectors::check_arrays(|v| {
            let dtype = v["dtype"].as_str().unwrap();
            let data_type = n5_data_type(dtype).map_err(|_| Miss::Skip(format!("N5 has no {dtype} data type")))?;
            let hex = v["input"]["hex"].as_str().unwrap();
            Ok(data_type_match!(data_type, { library_canonical::<RsType>(dtype, hex) }))
        });
    }

    #[test]
    fn fill_value_vectors() {
        vectors::check_fills(|_, _| Err(Miss::Skip("N5 has no fill value (reads answer null)".into())));
    }
}
