#!/usr/bin/env node
// zarr-conformance adapter (protocol 2) for zarrita.js, in plain JavaScript (ES modules;
// no TypeScript build step, which keeps the adapter to `npm ci` and two source files).
//
// Reads zarr v2 and v3 (sharding included) from local directories (FileSystemStore of
// @zarrita/storage), HTTP (FetchStore), and S3 as HTTP: anonymous requests go through a
// plain FetchStore on endpoint/bucket/key; signed requests through FetchStore's custom
// `fetch` hook, signing each request (Range headers included) with AWS SigV4 by `aws4`;
// kerchunk references through @zarrita/storage's ReferenceStore. No N5. A region is read
// with zarrita's own selection, zarr.get(arr, [zarr.slice(start, stop, step), ...]), which
// fetches and decodes only the chunks (and the inner chunks of shards) the region touches.
//
// Writes zarr v3 only: zarrita.create writes zarr.json and nothing else (it has no zarr
// v2 writer). Groups and the array are made with zarr.create, the data with zarr.set,
// chunk by chunk so that the case's missing chunks stay unwritten. The case's codec chain
// goes to the library as is; where zarrita cannot encode a codec (its gzip, crc32c,
// vlen-utf8 and sharding are decode-only) it raises UnsupportedError, reported as
// "unsupported" with its own text.
//
// hello.version is read at run time from the installed zarrita package.json.

import { Float16Array as Float16ArrayPolyfill } from "@petamoriken/float16";
import FileSystemStore from "@zarrita/storage/fs";
import ReferenceStore from "@zarrita/storage/ref";
import aws4 from "aws4";
import * as zarr from "zarrita";

import {
	AZURE_API_VERSION, azureSharedKeyHeaders, checkRegion, chunkIndices, chunkRegion, errorChain, errorText, extractRegion, extractRegionValues,
	fillFromJSON, main, packageVersion, s3CanonicalPath, Unsupported,
} from "zc-protocol";

// zarrita.js supports float16 where the runtime has a global Float16Array (it looks at
// globalThis when it meets the data type); Node 20 has none, so, as its users do, the adapter
// installs the polyfill zarrita's float16 support names.
globalThis.Float16Array ??= Float16ArrayPolyfill;

// --- stores -------------------------------------------------------------------

function joinUrl(base, ...parts) {
	return [base.replace(/\/+$/, ""), ...parts.map((p) => p.replace(/^\/+|\/+$/g, "")).filter(Boolean)].join("/");
}

/** A `fetch` for FetchStore that signs every request with SigV4 (path-style S3). */
function signingFetch(target) {
	const credentials = { accessKeyId: target.access_key_id, secretAccessKey: target.secret_access_key };
	const region = target.region || "us-east-1";
	return async (request) => {
		const url = new URL(request.url);
		const path = s3CanonicalPath(url.pathname);
		const headers = {};
		request.headers.forEach((value, name) => {
			headers[name] = value;
		});
		const signed = aws4.sign(
			{ host: url.host, path: path + url.search, method: request.method, headers, service: "s3", region, doNotEncodePath: true },
			credentials,
		);
		const { Host, host, ...sendHeaders } = signed.headers; // fetch sets Host from the URL itself
		return fetch(`${url.origin}${path}${url.search}`, { method: request.method, headers: sendHeaders, signal: request.signal });
	};
}

/** A `fetch` for FetchStore that adds headers to every request (a GCS bearer token, Azure's API version). */
function headerFetch(extra) {
	return async (request) => {
		const headers = new Headers(request.headers);
		for (const [name, value] of Object.entries(extra)) headers.set(name, value);
		return fetch(request.url, { method: request.method, headers, signal: request.signal });
	};
}

/** A `fetch` for FetchStore that signs every request with an Azure Storage account key (Shared Key). */
function sharedKeyFetch(target) {
	return async (request) => {
		const headers = {};
		request.headers.forEach((value, name) => {
			headers[name] = value;
		});
		const signed = azureSharedKeyHeaders(target, request.method, request.url, headers);
		return fetch(request.url, { method: request.method, headers: signed, signal: request.signal });
	};
}

/**
 * kerchunk references: zarrita's ReferenceStore, which fetches the reference file and the referenced
 * byte ranges. Its `fetch` hook points s3:// URLs at the store's endpoint and signs them as the S3
 * store's requests are; the referenced files must be reachable over HTTP (no local files).
 */
async function referenceStore(target) {
	const remote = target.remote ?? {};
	let fetchFn;
	if (remote.kind === "http") {
		fetchFn = (request) => fetch(request);
	} else if (remote.kind === "s3") {
		const send = remote.anonymous ? (request) => fetch(request) : signingFetch(remote);
		fetchFn = (request) => {
			const url = request.url.startsWith("s3://") ? joinUrl(remote.endpoint, request.url.slice("s3://".length)) : request.url;
			return send(new Request(url, request));
		};
	} else {
		throw new Unsupported(
			`zarrita's ReferenceStore fetches the referenced files over HTTP: references to files in a store of kind ${JSON.stringify(remote.kind)} are not read`,
		);
	}
	return ReferenceStore.fromUrl(target.refs, { fetch: fetchFn });
}

async function readStore(target) {
	switch (target.kind) {
		case "kerchunk":
			return referenceStore(target);
		case "local":
			return new FileSystemStore(target.path);
		case "http":
			return new zarr.FetchStore(target.url);
		case "s3": {
			const url = joinUrl(target.endpoint, target.bucket, target.key ?? "");
			return target.anonymous ? new zarr.FetchStore(url) : new zarr.FetchStore(url, { fetch: signingFetch(target) });
		}
		// zarrita has no client of its own for GCS or Azure Blob: as for S3, FetchStore reads the
		// objects' HTTP URLs (GCS's XML API, endpoint/bucket/key; Azure's endpoint/container/blob),
		// with a bearer token or a Shared Key signature when the target is not anonymous.
		case "gcs": {
			const url = joinUrl(target.endpoint, target.bucket, target.prefix ?? "");
			return target.anonymous || !target.token
				? new zarr.FetchStore(url)
				: new zarr.FetchStore(url, { fetch: headerFetch({ authorization: `Bearer ${target.token}` }) });
		}
		case "azure": {
			const url = joinUrl(target.endpoint, target.container, target.prefix ?? "");
			return new zarr.FetchStore(url, {
				fetch: target.anonymous ? headerFetch({ "x-ms-version": AZURE_API_VERSION }) : sharedKeyFetch(target),
			});
		}
		default:
			throw new Unsupported(`store kind ${JSON.stringify(target.kind)} is not known to this adapter`);
	}
}

// --- dtypes -------------------------------------------------------------------

/** Canonical dtype name of a zarrita data type. */
function canonicalDtype(dataType) {
	if (typeof dataType !== "string") return JSON.stringify(dataType);
	const m = /^v2:([SU]\d+)$/.exec(dataType);
	if (m) return m[1];
	if (dataType === "v2:object") return "string"; // object arrays that zarrita decodes: vlen-utf8 strings
	return dataType;
}

const TYPED = {
	int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
	uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
	float16: globalThis.Float16Array, float32: Float32Array, float64: Float64Array,
};

/** A zarrita chunk {data, shape, stride} (C order) of reference elements. */
function makeChunk(dataType, parts, shape) {
	let data;
	if (parts.strings) data = parts.strings;
	else if (dataType === "bool") data = new zarr.BoolArray(parts.bytes.buffer);
	else if (TYPED[dataType]) data = new TYPED[dataType](parts.bytes.buffer);
	else throw new Unsupported(`this adapter has no in-memory form for zarrita data type ${dataType}`);
	const stride = new Array(shape.length);
	for (let i = shape.length - 1, step = 1; i >= 0; i--) {
		stride[i] = step;
		step *= shape[i];
	}
	return { data, shape, stride };
}

function scalarOf(chunk) {
	const d = chunk.data;
	return typeof d.get === "function" ? d.get(0) : d[0];
}

// --- write ----------------------------------------------------------------------

/** zarrita's JS value for the case's fill value. */
function fillValue(c) {
	const v = fillFromJSON(c.fill_value, c.dtype);
	if (c.dtype === "int64" || c.dtype === "uint64") {
		// zarrita's scalar type for 64-bit integers is bigint, but create() serializes
		// metadata with JSON.stringify, which rejects BigInt: give a number where that is
		// exact, the BigInt (and so the library's own error) where it is not.
		return typeof v === "bigint" || !Number.isSafeInteger(v) ? BigInt(v) : v;
	}
	return v;
}

async function write(c, parts, target) {
	if (c.format === "zarr2") {
		throw new Unsupported("zarrita.create writes zarr v3 metadata (zarr.json) only; it has no zarr v2 writer");
	}
	if (c.format !== "zarr3") throw new Unsupported(`zarrita has no ${c.format} support`);
	if (target.kind !== "local") throw new Unsupported("this adapter writes to local stores only");
	const dtype = c.dtype;
	if (dtype.startsWith("complex")) throw new Unsupported("zarrita has no complex data types");
	if (/^[SU]\d+$/.test(dtype)) {
		throw new Unsupported(`zarrita has no zarr v3 data type for ${dtype} (its fixed-length strings are the zarr v2 ` +
			"dtypes 'v2:S<n>'/'v2:U<n>'; it knows no null_terminated_bytes / fixed_length_utf32 extension type)");
	}
	const cke = c.chunk_key_encoding ?? { name: "default", configuration: { separator: "/" } };
	if (cke.name !== "default") {
		throw new Unsupported(`zarrita.create writes chunk_key_encoding 'default' only (its option chunkSeparator), not ${JSON.stringify(cke.name)}`);
	}
	const separator = cke.configuration?.separator ?? "/";
	const store = new FileSystemStore(target.path);
	const root = zarr.root(store);

	// The groups above the array: the root group and those on the array's path, unless the
	// array is the root itself (case.path ""), whose zarr.json is then the dataset's root node.
	if (c.path) {
		const groups = { "": {}, ...(c.groups ?? {}) };
		const parents = c.path.split("/").slice(0, -1);
		for (let i = 1; i <= parents.length; i++) groups[parents.slice(0, i).join("/")] ??= {};
		const depth = (g) => (g ? g.split("/").length : 0);
		const ordered = Object.keys(groups).sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1));
		for (const g of ordered) await zarr.create(g ? root.resolve(g) : root, { attributes: groups[g] ?? {} });
	}

	const arr = await zarr.create(c.path ? root.resolve(c.path) : root, {
		shape: c.shape,
		chunkShape: c.chunks,
		dtype,
		codecs: c.codecs,
		fillValue: fillValue(c),
		chunkSeparator: separator,
		dimensionNames: c.dimension_names ?? undefined,
		attributes: c.attributes ?? {},
	});

	const shape = c.shape;
	const missing = new Set((c.missing_chunks ?? []).map((m) => m.join(",")));
	const size = parts.bytes ? parts.bytes.length / Math.max(1, shape.reduce((a, b) => a * b, 1)) : 0;
	if (shape.length === 0) {
		if (!missing.has("")) await zarr.set(arr, null, scalarOf(makeChunk(dtype, parts, [])));
		return;
	}
	if (!missing.size) {
		await zarr.set(arr, null, makeChunk(dtype, parts, shape));
		return;
	}
	for (const idx of chunkIndices(shape, c.chunks)) {
		if (missing.has(idx.join(","))) continue;
		const region = chunkRegion(idx, shape, c.chunks);
		const sub = parts.strings
			? (({ values, shape: s }) => makeChunk(dtype, { strings: values }, s))(extractRegionValues(parts.strings, shape, region))
			: (({ bytes, shape: s }) => makeChunk(dtype, { bytes }, s))(extractRegion(parts.bytes, shape, region, size));
		await zarr.set(arr, region.map(([a, b]) => zarr.slice(a, b)), sub);
	}
}

// --- read -----------------------------------------------------------------------

async function read(target, path, format, region) {
	if (format === "n5") throw new Unsupported("zarrita has no N5 support");
	const location = zarr.root(await readStore(target)).resolve(path || "/");
	const opener = format === "zarr2" ? zarr.open.v2 : format === "zarr3" ? zarr.open.v3 : zarr.open;
	const arr = await opener(location, { kind: "array" });
	checkRegion(region, arr.shape);
	const dtype = canonicalDtype(arr.dtype);
	const attributes = arr.attrs ?? {};
	if (arr.shape.length === 0) {
		// zarrita returns the element of a 0-d array as a scalar.
		const value = await zarr.get(arr, null);
		return { shape: [], dtype, data: scalarArray(arr.dtype, value), fillValue: arr.fillValue, attributes };
	}
	const selection = region ? region.map(([start, stop, step]) => zarr.slice(start, stop, step)) : null;
	const out = await zarr.get(arr, selection);
	return { shape: out.shape, dtype, data: out.data, stride: out.stride, fillValue: arr.fillValue, attributes };
}

function scalarArray(dataType, value) {
	if (dataType === "string" || dataType === "v2:object") return [value];
	if (dataType === "bool") return new zarr.BoolArray([value]);
	if (TYPED[dataType]) return TYPED[dataType].of(value);
	throw new Unsupported(`0-d arrays of ${dataType}: zarrita returns the element as a decoded scalar`);
}

// --- what counts as "the library lacks the feature" -------------------------------

function unsupportedReason(err, op) {
	const chain = errorChain(err);
	if (chain.some((e) => zarr.isZarritaError(e, "UnsupportedError", "UnknownCodecError"))) return errorText(err);
	if (chain.some((e) => zarr.isZarritaError(e, "InvalidMetadataError") && /unsupported|unknown.*dtype/i.test(e.message))) {
		return errorText(err);
	}
	if (op === "write" && err instanceof TypeError && /BigInt/.test(err.message)) {
		return "zarrita writes metadata with JSON.stringify, which cannot write an integer beyond 2^53 " +
			`(a fill value or attribute only a BigInt holds exactly): ${errorText(err)}`;
	}
	return null;
}

process.exit(await main(async () => ({
	impl: "zarrita-js",
	language: "typescript",
	verbs: ["read", "write"],
	version: () => packageVersion("zarrita", (n) => import.meta.resolve(n)),
	components: () => ({
		"@zarrita/storage": packageVersion("@zarrita/storage", (n) => import.meta.resolve(n)),
		numcodecs: packageVersion("numcodecs", (n) => import.meta.resolve(n)),
		"@petamoriken/float16": packageVersion("@petamoriken/float16", (n) => import.meta.resolve(n)),
		aws4: packageVersion("aws4", (n) => import.meta.resolve(n)),
		node: process.versions.node,
	}),
	write,
	read,
	unsupportedReason,
})));
