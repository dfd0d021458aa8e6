//! zarr-conformance adapter (protocols 1 and 2) for the `zarrs` crate (Rust).
//!
//! One process serves many JSON-lines requests on stdin/stdout (`serve`, the
//! default), and the same code path runs one request from a shell (`hello`,
//! `read ...`, `write ...`). Only responses go to stdout; zarrs logs through
//! the `log` crate, for which no logger is installed, and panics go to stderr.
//!
//! * Zarr V2 and V3 through zarrs itself. V3 arrays are made with
//!   `ArrayBuilder` (codecs, chunk key encoding and data type from the case's
//!   metadata through zarrs' plugin registry); V2 arrays from `ArrayMetadataV2`
//!   (`Array::new_with_metadata`), the only way zarrs writes V2.
//! * N5, read only, through `zarrs_n5` (its `N5Store` serves N5's
//!   attributes.json as Zarr V3 metadata). zarrs_n5 presents N5's own axis order;
//!   the protocol compares the reversed (C-order) view, so reads reverse the axes.
//! * S3, GCS, Azure Blob and HTTP reads through `zarrs_object_store` (object_store's
//!   aws, gcp, azure and http builders, pointed at the target's endpoint) and zarrs'
//!   async API on a tokio runtime; S3 writes (the native write mode) through the
//!   same store behind zarrs' `AsyncToSyncStorageAdapter`.
//! * A region (protocol 2) is read with `retrieve_array_subset` over an `ArraySubset`, the
//!   users' API for a part of an array: zarrs fetches and decodes only the chunks (and the inner
//!   chunks of shards) the subset touches. An `ArraySubset` is a box (a start and a shape per
//!   axis) and zarrs has no strided selection, so the adapter reads the region's bounding box and
//!   keeps every step-th element per axis. For N5 the region's axes are reversed first.
//! * An array at path "" is the dataset root: it is written without group metadata
//!   and opened at the node path "/".
//! * hello.version is `zarrs::version::version_str()`, the version constant zarrs
//!   exports (its CARGO_PKG_VERSION, i.e. the version in Cargo.lock); the
//!   components are baked in from Cargo.lock by build.rs.
//! * The protocol itself (the loop, the one-shot command line, outcomes, canonical bytes,
//!   the reference data) is the Rust adapters' shared crate, readers/rust-protocol.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde_json::{Map, Value, json};
use zarrs::array::{
    Array, ArrayBuilder, ArrayBytes, ArrayBytesOffsets, ArrayCreateError, ArrayMetadata,
    ArrayMetadataV2, ArraySubset, ChunkKeyEncoding, CodecChain, DataType, FillValue,
    FillValueMetadata,
};
use zarrs::config::{MetadataRetrieveVersion, global_config_mut};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::{Group, GroupBuilder, GroupMetadata};
use zarrs::metadata::v2::GroupMetadataV2;
use zarrs::metadata::v3::MetadataV3;
use zarrs::plugin::PluginCreateError;
use zarrs::storage::storage_adapter::async_to_sync::{AsyncToSyncBlockOn, AsyncToSyncStorageAdapter};
use zarrs::storage::{
    AsyncReadableStorageTraits, ReadableStorageTraits, ReadableWritableStorageTraits, StorageError,
};
use zarrs_n5::N5Store;
use zarrs_object_store::AsyncObjectStore;
use zarrs_object_store::object_store::{
    ClientOptions, ObjectStore, aws::AmazonS3Builder, azure::MicrosoftAzureBuilder,
    gcp::GoogleCloudStorageBuilder, http::HttpBuilder, prefix::PrefixStore,
};
use zc_protocol::reference::{Elements, Gathered, chunk_grid, region_indices, reverse_axes};
use zc_protocol::region::{Region, region};
use zc_protocol::{Adapter, Failure, PROTOCOL, R, err_text, error, field, missing_chunks, object, str_field, u64_list};

// (zarrs' in-memory element bytes are native-endian; zc_protocol refuses to build on a
// big-endian host, where they would not be the canonical little-endian bytes.)

mod canonical;

// ---------------------------------------------------------------------------
// Outcomes

fn plugin_unsupported(e: &PluginCreateError) -> bool {
    matches!(e, PluginCreateError::Unsupported(_))
}

/// zarrs' "this extension is not supported" errors are `unsupported`; all else is an error.
fn create_failure(e: ArrayCreateError) -> Failure {
    use ArrayCreateError as E;
    let text = err_text(&e);
    let unsupported = match &e {
        E::DataTypeCreateError(p)
        | E::CodecsCreateError(p)
        | E::ChunkGridCreateError(p)
        | E::ChunkKeyEncodingCreateError(p)
        | E::StorageTransformersCreateError(p) => plugin_unsupported(p),
        // zarrs wraps every V2 codec/data type problem in UnsupportedZarrV2Array: only its
        // "... is not supported" cases are a missing feature, the rest (bad configurations) errors.
        E::UnsupportedZarrV2Array(msg) => msg.contains("is not supported"),
        E::AdditionalFieldUnsupportedError(_) => true,
        // zarrs_n5 reports N5 compressions and data types it lacks while converting metadata.
        E::StorageError(StorageError::InvalidMetadata(_, msg)) => {
            msg.contains("unsupported N5 compression") || msg.contains("unsupported data type")
        }
        _ => false,
    };
    if unsupported { Failure::Unsupported(text) } else { Failure::Error(text) }
}

fn plugin_failure(e: PluginCreateError) -> Failure {
    let text = err_text(&e);
    if plugin_unsupported(&e) { Failure::Unsupported(text) } else { Failure::Error(text) }
}

// ---------------------------------------------------------------------------
// Request helpers (the protocol's own: zc_protocol)

/// A zarrs node path ("/a/b") for a protocol path ("a/b", "" for the root).
fn node_path(path: &str) -> String {
    let p = path.trim_matches('/');
    format!("/{p}")
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

// ---------------------------------------------------------------------------
// Canonical dtypes, bytes and fill values: src/canonical.rs

/// The canonical dtype name of a zarrs data type.
fn canonical_dtype(dt: &DataType) -> R<String> {
    canonical::dtype_name(dt).map_err(Failure::Unsupported)
}

/// What a read produced, before canonicalisation.
struct ReadOut {
    /// The shape of `bytes`: the array's, or the region's bounding box (in zarrs' axis order).
    shape: Vec<u64>,
    data_type: DataType,
    fill: FillValue,
    /// The V2 metadata's fill_value is null (the format's "no fill value").
    fill_null: bool,
    attributes: Map<String, Value>,
    bytes: ArrayBytes<'static>,
}

fn read_out<S: ?Sized>(array: &Array<S>, subset: &ArraySubset, bytes: ArrayBytes<'static>) -> ReadOut {
    let fill_null = matches!(array.metadata(), ArrayMetadata::V2(m) if m.fill_value.is_null());
    ReadOut {
        shape: subset.shape().to_vec(),
        data_type: array.data_type().clone(),
        fill: array.fill_value().clone(),
        fill_null,
        attributes: array.attributes().clone(),
        bytes,
    }
}

// ---------------------------------------------------------------------------
// read

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Zarr2,
    Zarr3,
    N5,
    Any,
}

fn parse_format(f: Option<&str>) -> R<Format> {
    match f {
        Some("zarr2") => Ok(Format::Zarr2),
        Some("zarr3") => Ok(Format::Zarr3),
        Some("n5") => Ok(Format::N5),
        None => Ok(Format::Any),
        Some(other) => Err(Failure::BadRequest(format!("unknown format {other:?}"))),
    }
}

fn retrieve_version(fmt: Format) -> MetadataRetrieveVersion {
    match fmt {
        Format::Zarr2 => MetadataRetrieveVersion::V2,
        // zarrs_n5's N5Store answers requests for zarr.json.
        Format::Zarr3 | Format::N5 => MetadataRetrieveVersion::V3,
        Format::Any => MetadataRetrieveVersion::Default,
    }
}

/// The subset to retrieve: the whole array, or the region's bounding box (an `ArraySubset` has no
/// step; do_read keeps every step-th element of what it returns). zarrs_n5 presents N5's own axis
/// order: the region, given in the reversed (C-order) view, is checked there and then reversed.
fn subset<S: ?Sized>(array: &Array<S>, fmt: Format, region: Option<&Region>) -> R<ArraySubset> {
    let Some(region) = region else { return Ok(array.subset_all()) };
    let mut shape = array.shape().to_vec();
    if fmt == Format::N5 {
        shape.reverse();
        region.check(&shape)?;
        return Ok(ArraySubset::new_with_ranges(&region.reversed().bounding_box()));
    }
    region.check(&shape)?;
    Ok(ArraySubset::new_with_ranges(&region.bounding_box()))
}

fn read_sync<S: ?Sized + ReadableStorageTraits + 'static>(
    store: Arc<S>,
    path: &str,
    fmt: Format,
    region: Option<&Region>,
) -> R<ReadOut> {
    let array = Array::open_opt(store, path, &retrieve_version(fmt)).map_err(create_failure)?;
    let subset = subset(&array, fmt, region)?;
    let bytes = array.retrieve_array_subset::<ArrayBytes<'static>>(&subset).map_err(error)?;
    Ok(read_out(&array, &subset, bytes))
}

async fn read_async<S: ?Sized + AsyncReadableStorageTraits + 'static>(
    store: Arc<S>,
    path: &str,
    fmt: Format,
    region: Option<&Region>,
) -> R<ReadOut> {
    let array = Array::async_open_opt(store, path, &retrieve_version(fmt))
        .await
        .map_err(create_failure)?;
    let subset = subset(&array, fmt, region)?;
    let bytes = array
        .async_retrieve_array_subset::<ArrayBytes<'static>>(&subset)
        .await
        .map_err(error)?;
    Ok(read_out(&array, &subset, bytes))
}

fn read_object_store<T: zarrs_object_store::object_store::ObjectStore>(
    store: T,
    path: &str,
    fmt: Format,
    region: Option<&Region>,
) -> R<ReadOut> {
    let store = AsyncObjectStore::new(store);
    if fmt == Format::N5 {
        runtime().block_on(read_async(Arc::new(N5Store::new(store)), path, fmt, region))
    } else {
        runtime().block_on(read_async(Arc::new(store), path, fmt, region))
    }
}

/// The S3 store of a protocol STORE object (path-style, the dataset's key as a prefix).
fn s3_object_store(target: &Value) -> R<Arc<dyn ObjectStore>> {
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(str_field(target, "bucket")?)
        .with_endpoint(str_field(target, "endpoint")?)
        .with_region(target.get("region").and_then(Value::as_str).unwrap_or("us-east-1"))
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false);
    if target.get("anonymous").and_then(Value::as_bool).unwrap_or(false) {
        b = b.with_skip_signature(true);
    } else {
        b = b
            .with_access_key_id(str_field(target, "access_key_id")?)
            .with_secret_access_key(str_field(target, "secret_access_key")?);
    }
    // object_store's S3 client makes its HTTP client on the runtime.
    let s3 = {
        let _guard = runtime().enter();
        b.build().map_err(error)?
    };
    let key = target.get("key").and_then(Value::as_str).unwrap_or("").trim_matches('/');
    Ok(if key.is_empty() { Arc::new(s3) } else { Arc::new(PrefixStore::new(s3, key)) })
}

/// The dataset's prefix (`prefix` in the gcs and azure STORE objects) over a store.
fn with_prefix<T: ObjectStore>(store: T, target: &Value) -> Arc<dyn ObjectStore> {
    let prefix = target.get("prefix").and_then(Value::as_str).unwrap_or("").trim_matches('/');
    if prefix.is_empty() { Arc::new(store) } else { Arc::new(PrefixStore::new(store, prefix)) }
}

/// The GCS store of a protocol STORE object: the JSON/XML API at the target's endpoint, a bearer
/// token when signed, unsigned requests when anonymous.
fn gcs_object_store(target: &Value) -> R<Arc<dyn ObjectStore>> {
    let mut b = GoogleCloudStorageBuilder::new()
        .with_bucket_name(str_field(target, "bucket")?)
        .with_base_url(str_field(target, "endpoint")?)
        .with_client_options(ClientOptions::new().with_allow_http(true));
    match target.get("token").and_then(Value::as_str) {
        Some(token) if !target.get("anonymous").and_then(Value::as_bool).unwrap_or(false) => {
            b = b.with_bearer_token(token)
        }
        _ => b = b.with_skip_signature(true),
    }
    let gcs = {
        let _guard = runtime().enter();
        b.build().map_err(error)?
    };
    Ok(with_prefix(gcs, target))
}

/// The Azure Blob store of a protocol STORE object: path-style at the target's endpoint
/// (`http://HOST:PORT/ACCOUNT`), Shared Key when signed, unsigned requests when anonymous.
fn azure_object_store(target: &Value) -> R<Arc<dyn ObjectStore>> {
    let mut b = MicrosoftAzureBuilder::new()
        .with_account(str_field(target, "account")?)
        .with_container_name(str_field(target, "container")?)
        .with_endpoint(str_field(target, "endpoint")?.to_string())
        .with_allow_http(true);
    if target.get("anonymous").and_then(Value::as_bool).unwrap_or(false) {
        b = b.with_skip_signature(true);
    } else {
        b = b.with_access_key(str_field(target, "key")?);
    }
    let az = {
        let _guard = runtime().enter();
        b.build().map_err(error)?
    };
    Ok(with_prefix(az, target))
}

fn read_target(target: &Value, path: &str, fmt: Format, region: Option<&Region>) -> R<ReadOut> {
    match str_field(target, "kind")? {
        "local" => {
            let store = FilesystemStore::new(str_field(target, "path")?).map_err(error)?;
            if fmt == Format::N5 {
                read_sync(Arc::new(N5Store::new(store)), path, fmt, region)
            } else {
                read_sync(Arc::new(store), path, fmt, region)
            }
        }
        "s3" => read_object_store(s3_object_store(target)?, path, fmt, region),
        "gcs" => read_object_store(gcs_object_store(target)?, path, fmt, region),
        "azure" => read_object_store(azure_object_store(target)?, path, fmt, region),
        "http" => {
            let http = {
                let _guard = runtime().enter();
                HttpBuilder::new()
                    .with_url(str_field(target, "url")?.trim_end_matches('/'))
                    .with_client_options(ClientOptions::new().with_allow_http(true))
                    .build()
                    .map_err(error)?
            };
            read_object_store(http, path, fmt, region)
        }
        other => Err(Failure::Unsupported(format!("store kind {other:?} is not known to this adapter"))),
    }
}

fn do_read(req: &Value) -> R<Value> {
    let target = field(req, "target")?;
    let path = req.get("path").and_then(Value::as_str).unwrap_or("");
    let fmt = parse_format(req.get("format").and_then(Value::as_str))?;
    let region = region(req)?;
    let t0 = Instant::now();
    let out = read_target(target, &node_path(path), fmt, region.as_ref())?;
    let elapsed = t0.elapsed().as_secs_f64() * 1000.0;

    let dtype = canonical_dtype(&out.data_type)?;
    let mut shape = out.shape.clone();
    let mut attributes = out.attributes;
    let size = out.data_type.fixed_size().unwrap_or(1);
    let mut bytes = match out.bytes {
        ArrayBytes::Fixed(bytes) if fmt == Format::N5 => {
            // zarrs_n5 presents N5's own axis order; the protocol compares the reversed view.
            shape.reverse();
            ArrayBytes::new_flen(reverse_axes(&bytes, &out.shape, size))
        }
        bytes => bytes,
    };
    if let Some(region) = region.as_ref().filter(|r| !r.is_contiguous()) {
        // zarrs has no strided selection: of the bounding box it read, every step-th element per axis.
        bytes = take(bytes, size, &region.indices_in_bounding_box())?;
        shape = region.shape();
    }
    let raw = canonical::bytes(&dtype, bytes).map_err(Failure::Unsupported)?;
    if fmt == Format::N5 {
        // zarrs_n5 adds the array's whole N5 metadata document as the attribute "_n5";
        // it is the library's bookkeeping, not a user attribute.
        attributes.remove("_n5");
    }
    if let Some(dump) = req.get("dump").and_then(Value::as_str) {
        std::fs::write(dump, &raw).map_err(error)?;
    }
    let hash = canonical::hash(&raw);
    let fill = canonical::fill_json(&dtype, (!out.fill_null).then_some(&out.fill));
    Ok(json!({
        "status": "ok",
        "shape": shape,
        "dtype": dtype,
        "hash": hash,
        "fill_value": fill,
        "attributes": attributes,
        "elapsed_ms": (elapsed * 1000.0).round() / 1000.0,
    }))
}

/// The elements at flat (C-order) `indices` of array bytes (`size`: of a fixed-size element).
fn take(bytes: ArrayBytes<'static>, size: usize, indices: &[usize]) -> R<ArrayBytes<'static>> {
    let elements = match bytes {
        ArrayBytes::Fixed(bytes) => Elements::Fixed { size, bytes: bytes.into_owned() },
        ArrayBytes::Variable(v) => {
            let (bytes, offsets) = v.into_parts();
            Elements::Vlen { items: offsets.windows(2).map(|w| (w[0], w[1])).collect(), bytes: bytes.into_owned() }
        }
        ArrayBytes::Optional(_) => {
            return Err(Failure::Unsupported("optional (masked) arrays have no canonical form".into()));
        }
    };
    Ok(array_bytes(elements.gather(indices)))
}

// ---------------------------------------------------------------------------
// write

/// Reference elements (zc_protocol's) as zarrs array bytes.
fn array_bytes(elements: Gathered) -> ArrayBytes<'static> {
    match elements {
        Gathered::Fixed(bytes) => ArrayBytes::new_flen(bytes),
        Gathered::Vlen(bytes, offsets) => {
            let offsets = ArrayBytesOffsets::new(offsets).expect("monotonic offsets");
            ArrayBytes::new_vlen(bytes, offsets).expect("offsets within bytes")
        }
    }
}

fn v2_dtype(dtype: &str) -> R<String> {
    Ok(match dtype {
        "bool" => "|b1".into(),
        "int8" => "|i1".into(),
        "uint8" => "|u1".into(),
        "int16" => "<i2".into(),
        "int32" => "<i4".into(),
        "int64" => "<i8".into(),
        "uint16" => "<u2".into(),
        "uint32" => "<u4".into(),
        "uint64" => "<u8".into(),
        "float16" => "<f2".into(),
        "float32" => "<f4".into(),
        "float64" => "<f8".into(),
        "complex64" => "<c8".into(),
        "complex128" => "<c16".into(),
        "string" => "|O".into(),
        d if d.starts_with('S') => format!("|{d}"),
        d if d.starts_with('U') => format!("<{d}"),
        d => return Err(Failure::BadRequest(format!("unknown dtype {d:?}"))),
    })
}

fn v3_data_type(dtype: &str) -> R<MetadataV3> {
    if dtype.starts_with('S') {
        return Err(Failure::Unsupported(format!(
            "zarrs has no fixed-length byte-string data type for {dtype} (no null_terminated_bytes / \
             fixed-length bytes extension; its r<bits> raw-bits type is not a byte string)"
        )));
    }
    if let Some(n) = dtype.strip_prefix('U') {
        let n: u64 = n.parse().map_err(|_| Failure::BadRequest(format!("bad dtype {dtype:?}")))?;
        return serde_json::from_value(json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 4 * n}}))
            .map_err(error);
    }
    Ok(MetadataV3::new(dtype))
}

fn build_v2<S: ?Sized + ReadableWritableStorageTraits + 'static>(
    store: Arc<S>,
    path: &str,
    case: &Value,
    shape: &[u64],
    chunks: &[u64],
    dtype: &str,
) -> R<Array<S>> {
    let meta = json!({
        "zarr_format": 2,
        "shape": shape,
        "chunks": chunks,
        "dtype": v2_dtype(dtype)?,
        "compressor": case.get("compressor").cloned().unwrap_or(Value::Null),
        "fill_value": case.get("fill_value").cloned().unwrap_or(Value::Null),
        "order": case.get("order").and_then(Value::as_str).unwrap_or("C"),
        "filters": case.get("filters").cloned().unwrap_or(Value::Null),
        "dimension_separator": case.get("dimension_separator").and_then(Value::as_str).unwrap_or("."),
    });
    let metadata: ArrayMetadataV2 = serde_json::from_value(meta).map_err(error)?;
    let metadata = metadata.with_attributes(object(case.get("attributes")));
    Array::new_with_metadata(store, path, ArrayMetadata::V2(metadata)).map_err(create_failure)
}

fn build_v3<S: ?Sized + ReadableWritableStorageTraits + 'static>(
    store: Arc<S>,
    path: &str,
    case: &Value,
    shape: &[u64],
    chunks: &[u64],
    dtype: &str,
) -> R<Array<S>> {
    let data_type = v3_data_type(dtype)?;
    let fill: FillValueMetadata =
        serde_json::from_value(case.get("fill_value").cloned().unwrap_or(Value::Null)).map_err(error)?;
    let codecs: Vec<MetadataV3> =
        serde_json::from_value(field(case, "codecs")?.clone()).map_err(error)?;
    let chain = CodecChain::from_metadata(&codecs).map_err(plugin_failure)?;
    let mut builder = ArrayBuilder::new(shape.to_vec(), chunks.to_vec(), data_type, fill);
    builder
        .array_to_array_codecs(chain.array_to_array_codecs().to_vec())
        .array_to_bytes_codec(chain.array_to_bytes_codec().clone())
        .bytes_to_bytes_codecs(chain.bytes_to_bytes_codecs().to_vec())
        .attributes(object(case.get("attributes")));
    if let Some(cke) = case.get("chunk_key_encoding").filter(|v| !v.is_null()) {
        let cke: MetadataV3 = serde_json::from_value(cke.clone()).map_err(error)?;
        builder.chunk_key_encoding(ChunkKeyEncoding::from_metadata(&cke).map_err(plugin_failure)?);
    }
    if let Some(names) = case.get("dimension_names").filter(|v| !v.is_null()) {
        let names: Vec<Option<String>> = serde_json::from_value(names.clone()).map_err(error)?;
        builder.dimension_names(Some(names));
    }
    builder.build(store, path).map_err(create_failure)
}

fn do_write(req: &Value) -> R<Value> {
    let case = field(req, "case")?;
    let data_path = str_field(req, "data")?;
    let target = field(req, "target")?;
    let fmt = str_field(case, "format")?;
    if fmt == "n5" {
        return Err(Failure::Unsupported(
            "zarrs cannot write N5 (zarrs has no N5 support; zarrs_n5 is read-only)".into(),
        ));
    }
    let data = std::fs::read(data_path).map_err(error)?;
    match str_field(target, "kind")? {
        "local" => {
            let root = str_field(target, "path")?;
            std::fs::create_dir_all(root).map_err(error)?;
            write_into(Arc::new(FilesystemStore::new(root).map_err(error)?), case, fmt, data)
        }
        // The native write mode: straight into S3 through zarrs_object_store, with zarrs'
        // synchronous API over the async store (AsyncToSyncStorageAdapter on the runtime).
        "s3" => {
            let s3 = AsyncObjectStore::new(s3_object_store(target)?);
            let store = AsyncToSyncStorageAdapter::new(Arc::new(s3), TokioBlockOn(runtime().handle().clone()));
            write_into(Arc::new(store), case, fmt, data)
        }
        other => Err(Failure::Unsupported(format!("store kind {other:?} is not known to this adapter"))),
    }
}

/// Runs zarrs' async store calls on the adapter's tokio runtime.
struct TokioBlockOn(tokio::runtime::Handle);

impl AsyncToSyncBlockOn for TokioBlockOn {
    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

fn write_into<S: ?Sized + ReadableWritableStorageTraits + 'static>(
    store: Arc<S>,
    case: &Value,
    fmt: &str,
    data: Vec<u8>,
) -> R<Value> {
    let dtype = str_field(case, "dtype")?;
    let shape = u64_list(case, "shape")?;
    let chunks = u64_list(case, "chunks")?;
    let case_path = case.get("path").and_then(Value::as_str).unwrap_or("array");
    let n: u64 = shape.iter().product();
    let elements = Elements::from_canonical(data, dtype, n as usize)?;

    // The array first: what zarrs cannot express is refused before anything is written.
    let array_path = node_path(case_path);
    let array = match fmt {
        "zarr2" => build_v2(store.clone(), &array_path, case, &shape, &chunks, dtype)?,
        "zarr3" => build_v3(store.clone(), &array_path, case, &shape, &chunks, dtype)?,
        other => return Err(Failure::BadRequest(format!("unknown format {other:?}"))),
    };

    // Groups: the root, every listed group and every ancestor of the array. An array at
    // the root (path "") IS the dataset: no group metadata goes beside it (a .zgroup next
    // to its .zarray, or a group zarr.json written first, would make the root a group).
    let root_array = case_path.trim_matches('/').is_empty();
    let listed = object(case.get("groups"));
    let mut groups: Vec<String> = if root_array { Vec::new() } else { vec![String::new()] };
    groups.extend(
        listed
            .keys()
            .map(|k| k.trim_matches('/').to_string())
            .filter(|g| !(root_array && g.is_empty())),
    );
    let parts: Vec<&str> = case_path.trim_matches('/').split('/').collect();
    for i in 1..parts.len() {
        groups.push(parts[..i].join("/"));
    }
    groups.sort_by_key(|g| (if g.is_empty() { 0 } else { g.matches('/').count() + 1 }, g.clone()));
    groups.dedup();
    for g in &groups {
        let attrs = object(listed.get(g.as_str()));
        let gpath = node_path(g);
        let group = if fmt == "zarr2" {
            Group::new_with_metadata(store.clone(), &gpath, GroupMetadata::V2(GroupMetadataV2::new().with_attributes(attrs)))
                .map_err(error)?
        } else {
            GroupBuilder::new().attributes(attrs).build(store.clone(), &gpath).map_err(error)?
        };
        group.store_metadata().map_err(error)?;
    }

    array.store_metadata().map_err(error)?;

    let missing = missing_chunks(case);
    if missing.is_empty() {
        let all: Vec<usize> = (0..n as usize).collect();
        array.store_array_subset(&array.subset_all(), array_bytes(elements.gather(&all))).map_err(error)?;
    } else {
        // Chunk by chunk, leaving out the missing ones.
        for (idx, ranges) in chunk_grid(&shape, &chunks) {
            if missing.contains(&idx) {
                continue;
            }
            let indices = region_indices(&shape, &ranges);
            array
                .store_array_subset(&ArraySubset::new_with_ranges(&ranges), array_bytes(elements.gather(&indices)))
                .map_err(error)?;
        }
    }
    Ok(json!({"status": "ok"}))
}

// ---------------------------------------------------------------------------
// Protocol (the loop and the one-shot command line: zc_protocol)

struct Zarrs;

impl Adapter for Zarrs {
    fn program(&self) -> &str {
        "zarrs-adapter"
    }

    fn hello(&self) -> Value {
        let components: Value = serde_json::from_str(env!("LOCKED_VERSIONS")).unwrap_or_else(|_| json!({}));
        json!({
            "ok": true,
            "impl": "zarrs",
            "version": zarrs::version::version_str(),
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
    // zarrs adds a "_zarrs" attribute (library name/version) to every array it
    // writes unless told not to; the case's attributes are to be written as given.
    global_config_mut().set_include_zarrs_metadata(false);
    std::process::exit(zc_protocol::run(&Zarrs));
}
