#!/usr/bin/env node
// zarr-conformance adapter (protocol 2) for zarr-js, the npm package `zarr-js` by
// freeman-lab (not zarr.js, the npm package `zarr`, whose adapter is readers/zarr-js).
// Plain JavaScript ES modules, no build step: `npm ci` and one source file.
//
// zarr-js is a reader only ("a minimal library purely for reading Zarr files"): it has no
// writer, so writes are answered "unsupported". It is built around a request function its
// users hand it (`require('zarr-js')(request, version)`): `fs.readFile` for local files, as
// its README shows, and `fetch` for HTTP. The adapter gives it those two, and for object stores
// a `fetch` that signs each request (S3 SigV4 by `aws4`, an Azure Shared Key, a GCS bearer
// token), the same hook its users have for any other authenticated HTTP.
//
// Reading: zarr v2 through `load(uri, callback)`, which reads .zarray and every chunk and
// merges them; zarr v3 through `open(uri, callback)`, its only v3 method, whose `get(key)` is
// called for every chunk in C order (for a sharded array a key names an inner chunk, as its
// README says) and the chunks are copied into one array. A region (protocol 2), v2 or v3, is
// read as zarr-js's users read part of an array: `open`, then `get(key)` of only the chunks
// holding a selected element (its lazy, chunk-by-chunk API: zarr-js has no selection by
// index ranges), and the adapter copies the selected elements, every step-th per axis, out of
// those chunks.
//
// zarr-js returns no metadata: the adapter reads .zarray / zarr.json through the same request
// function for the fill value (the value zarr-js fills missing chunks with), for the data type
// where zarr-js hands back a plain JS Array (bool, S<n>, U<n>, or an array whose first chunk
// is missing) and for the chunk grid to enumerate (v3, and v2 regions). zarr-js reads no
// attributes at all: the adapter reports none.
//
// zarr-js decodes chunks inside the promise of its request function, so an error there
// (an unknown compressor, a data type it has no array for, its v3 error path) is an unhandled
// promise rejection and the callback is never called. The adapter catches such a rejection
// while a read is in progress and answers it as that read's error (UnhandledRejection, with
// the library's error as its cause), instead of waiting for a callback that never comes.
//
// hello.version is read at run time from the installed zarr-js package.json.

import { readFile } from "node:fs/promises";
import aws4 from "aws4";
import zarrJs from "zarr-js";

import {
	AZURE_API_VERSION, azureSharedKeyHeaders, checkRegion, chunkIndices, errorChain, errorText, main, packageVersion, regionShape,
	s3CanonicalPath, Unsupported,
} from "zc-protocol";

// --- escaped errors -----------------------------------------------------------------

/** An error zarr-js threw where no callback hears it (an unhandled promise rejection). */
class UnhandledRejection extends Error {
	constructor(cause) {
		super("zarr-js threw inside its own promise (an unhandled rejection): its callback is never called", { cause });
		this.name = "UnhandledRejection";
	}
}

let onEscape = null; // where an unhandled rejection goes while a read is in progress
let inFlight = 0; // requests zarr-js has made and not yet seen answered
process.on("unhandledRejection", (err) => onEscape?.(err));

/**
 * A request function that counts the requests in flight (to let a failed read settle) and logs
 * to stderr what a request throws (zarr-js answers it with "error evaluating fetching function").
 */
function tracked(request) {
	return async (...args) => {
		inFlight++;
		try {
			return await request(...args);
		} catch (err) {
			if (err?.code !== "ENOENT") process.stderr.write(`request ${args[0]} ${JSON.stringify(args[1] ?? {})} failed: ${errorText(err)}\n`);
			throw err;
		} finally {
			inFlight--;
		}
	};
}

/**
 * The result of a zarr-js call taking a node-style callback; an unhandled rejection while it
 * runs rejects it. Afterwards the requests still in flight are let finish, and zarr-js is given
 * a quiet spell with none in flight (it starts the next chunk's request only after decoding the
 * last, so an empty moment does not mean it is done), so that what they throw is not taken for
 * the next read's error: over a slow store a control read right after a failed one got it.
 */
async function viaCallback(fn) {
	let failed = false;
	try {
		return await new Promise((resolve, reject) => {
			onEscape = (err) => reject(new UnhandledRejection(err));
			try {
				fn((err, value) => (err ? reject(err) : resolve(value)));
			} catch (err) {
				reject(err);
			}
		});
	} catch (err) {
		failed = true;
		throw err;
	} finally {
		onEscape = (err) => process.stderr.write(`after the read failed: ${err?.stack ?? err}\n`);
		await settle(failed ? 50 : 0);
		onEscape = null;
	}
}

/** Until no request is in flight, and (after a failure) none has been for quietMs, at most 3 s. */
async function settle(quietMs) {
	const start = Date.now();
	let quietSince = Date.now();
	while (Date.now() - start < 3000) {
		if (inFlight > 0) quietSince = Date.now();
		else if (Date.now() - quietSince >= quietMs) break;
		await new Promise((r) => setTimeout(r, quietMs ? 5 : 0));
	}
	for (let i = 0; i < 2; i++) await new Promise((r) => setTimeout(r, 0));
}

// --- request functions ----------------------------------------------------------------

function joinUrl(base, ...parts) {
	return [base.replace(/\/+$/, ""), ...parts.map((p) => p.replace(/^\/+|\/+$/g, "")).filter(Boolean)].join("/");
}

/** fetch with extra headers on every request (a GCS bearer token, Azure's API version). */
function headerFetch(extra) {
	return (src, options = {}) => fetch(src, { ...options, headers: { ...(options.headers ?? {}), ...extra } });
}

/** fetch signing every request with SigV4 (path-style S3), Range headers included. */
function signingFetch(target) {
	const credentials = { accessKeyId: target.access_key_id, secretAccessKey: target.secret_access_key };
	const region = target.region || "us-east-1";
	return (src, options = {}) => {
		const url = new URL(src);
		const path = s3CanonicalPath(url.pathname);
		const method = options.method ?? "GET";
		const signed = aws4.sign(
			{ host: url.host, path: path + url.search, method, headers: { ...(options.headers ?? {}) }, service: "s3", region, doNotEncodePath: true },
			credentials,
		);
		const { Host, host, ...headers } = signed.headers; // fetch sets Host from the URL itself
		return fetch(`${url.origin}${path}${url.search}`, { method, headers });
	};
}

/** fetch signing every request with an Azure Storage account key (Shared Key). */
function sharedKeyFetch(target) {
	return (src, options = {}) => {
		const method = options.method ?? "GET";
		const headers = {};
		for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
		return fetch(src, { method, headers: azureSharedKeyHeaders(target, method, new URL(src).href, headers) });
	};
}

/**
 * [the dataset root's URI as zarr-js takes it, the request function for it, zarr-js's v3 config].
 * Azure Blob's Range header has no suffix form (bytes=-N), so for Azure the adapter sets
 * zarr-js's own option for such servers, `useSuffixRequest: false` (a HEAD for the shard's size,
 * then a plain range), as its README tells users to; Azurite answers a suffix range with a
 * Content-Length Node's fetch refuses ("Invalid character in Content-Length").
 */
function location(target) {
	switch (target.kind) {
		case "local":
			return [target.path.replace(/\/+$/, ""), readFile];
		case "http":
			return [target.url.replace(/\/+$/, ""), fetch];
		case "s3": {
			const url = joinUrl(target.endpoint, target.bucket, target.key ?? "");
			return [url, target.anonymous ? fetch : signingFetch(target)];
		}
		case "gcs": {
			const url = joinUrl(target.endpoint, target.bucket, target.prefix ?? "");
			return [url, target.anonymous || !target.token ? fetch : headerFetch({ authorization: `Bearer ${target.token}` })];
		}
		case "azure": {
			const url = joinUrl(target.endpoint, target.container, target.prefix ?? "");
			const request = target.anonymous ? headerFetch({ "x-ms-version": AZURE_API_VERSION }) : sharedKeyFetch(target);
			return [url, request, { useSuffixRequest: false }];
		}
		default:
			throw new Unsupported(`store kind ${JSON.stringify(target.kind)} is not known to this adapter`);
	}
}

/** A metadata document, JSON.parse'd as zarr-js parses its own, through the same request function. */
async function metadataDocument(request, uri) {
	const resp = await request(uri);
	if (Buffer.isBuffer(resp)) return JSON.parse(resp.toString("utf8"));
	if (resp.status !== 200) throw new Error(`${uri}: HTTP ${resp.status}`);
	return JSON.parse(await resp.text());
}

// --- canonical form of what zarr-js returns -----------------------------------------------

/** What zarr-js returned has no canonical bytes (an element of the wrong JS type). */
class ResultError extends Error {
	constructor(message) {
		super(message);
		this.name = "ResultError";
	}
}

const TYPED_DTYPE = new Map([
	[Int8Array, "int8"], [Uint8Array, "uint8"], [Int16Array, "int16"], [Uint16Array, "uint16"],
	[Int32Array, "int32"], [Uint32Array, "uint32"], [Float32Array, "float32"], [Float64Array, "float64"],
]);
const DTYPE_TYPED = Object.fromEntries([...TYPED_DTYPE].map(([ctor, name]) => [name, ctor]));

/** Canonical dtype name of a zarr v2 dtype string. */
function v2Dtype(dtype) {
	const m = /^[<>|]([a-zA-Z])(\d+)$/.exec(dtype);
	if (!m) return dtype === "|O" ? "string" : String(dtype);
	const [, kind, n] = m;
	const bits = Number(n) * 8;
	return { b: n === "1" ? "bool" : dtype, i: `int${bits}`, u: `uint${bits}`, f: `float${bits}`, c: `complex${bits}`, S: `S${n}`, U: `U${n}` }[kind] ?? dtype;
}

/**
 * {dtype, data} in the protocol's terms for an ndarray's data: a TypedArray keeps its own type;
 * a plain JS Array (zarr-js's bool and string arrays, and the merged array when the first chunk
 * was missing) is turned into element bytes of `declared`, element by element.
 */
function canonicalData(data, declared) {
	for (const [ctor, name] of TYPED_DTYPE) if (data instanceof ctor) return { dtype: name, data };
	if (!Array.isArray(data)) throw new Error(`zarr-js returned ${Object.prototype.toString.call(data)}, not an array`);
	const m = /^([SU])(\d+)$/.exec(declared);
	const want = declared === "bool" ? "boolean" : m ? "string" : "number";
	const bad = data.findIndex((v) => typeof v !== want);
	if (bad >= 0) {
		// zarr-js fills missing chunks with .zarray's fill_value as JSON has it: a "NaN" fill of a
		// float array is the string "NaN" there, a null fill is null. Such an element is reported,
		// not converted.
		throw new ResultError(`zarr-js returned a plain JS Array for ${declared} holding ${JSON.stringify(data[bad]) ?? String(data[bad])} ` +
			`(${typeof data[bad]}) at element ${bad}, not a ${want}`);
	}
	if (declared === "bool") return { dtype: declared, data: Uint8Array.from(data, (v) => (v ? 1 : 0)) };
	if (m) {
		const n = Number(m[2]);
		const size = m[1] === "S" ? n : 4 * n;
		const out = new Uint8Array(data.length * size);
		data.forEach((text, i) => {
			let raw;
			if (m[1] === "S") raw = Buffer.from(text, "utf8");
			else {
				const points = [...text].map((c) => c.codePointAt(0));
				raw = Buffer.from(new Uint32Array(points).buffer);
			}
			out.set(raw.subarray(0, size), i * size);
		});
		return { dtype: declared, data: out };
	}
	// A number array held in a plain Array (its first chunk was missing).
	if (DTYPE_TYPED[declared]) return { dtype: declared, data: DTYPE_TYPED[declared].from(data) };
	throw new Unsupported(`zarr-js returned a plain JS Array for ${declared}, which this adapter has no element bytes for`);
}

// --- read -------------------------------------------------------------------------------

/**
 * The selected elements of a region (null: the whole array), from the chunks `get(key)` of
 * zarr-js's open() returns (whole chunks, edge chunks included): only the chunks holding a
 * selected element are asked for, and their selected elements copied in C order.
 */
async function readChunks(get, shape, chunks, region, declared) {
	const sel = region ?? shape.map((n) => [0, n, 1]);
	const outShape = regionShape(sel);
	const n = outShape.reduce((a, b) => a * b, 1);
	const outStride = outShape.map((_, d) => outShape.slice(d + 1).reduce((a, b) => a * b, 1));
	// Per axis: [chunk index, [[position in the chunk, position in the selection], ...]] of the
	// chunks along that axis that hold a selected element.
	const axes = sel.map(([start, stop, step], d) => {
		const byChunk = new Map();
		for (let i = start, k = 0; i < stop; i += step, k++) {
			const c = Math.floor(i / chunks[d]);
			if (!byChunk.has(c)) byChunk.set(c, []);
			byChunk.get(c).push([i - c * chunks[d], k]);
		}
		return [...byChunk];
	});
	const ones = (lens) => lens.map(() => 1);
	let out = null;
	for (const pick of chunkIndices(axes.map((a) => a.length), ones(axes))) {
		const along = pick.map((p, d) => axes[d][p]);
		const chunk = await viaCallback((cb) => get(along.map(([c]) => c), cb));
		out ??= new chunk.data.constructor(n);
		const positions = along.map(([, pos]) => pos);
		for (const at of chunkIndices(positions.map((p) => p.length), ones(positions))) {
			let dst = 0;
			const rel = at.map((j, d) => {
				dst += positions[d][j][1] * outStride[d];
				return positions[d][j][0];
			});
			out[dst] = chunk.get(...rel);
		}
	}
	return { shape: outShape, ...canonicalData(out, declared) };
}

/** The fill value .zarray records (zarr-js has no API for it): for |S<n> it is the base64 of the bytes (the v2 spec). */
function v2Fill(meta) {
	const fill = meta.fill_value;
	return typeof fill === "string" && /^\|S\d+$/.test(meta.dtype) ? Buffer.from(fill, "base64") : fill;
}

async function readV2(zarr, request, uri, region) {
	if (region) {
		const get = await viaCallback((cb) => zarr.open(uri, cb));
		const meta = await metadataDocument(request, `${uri}/.zarray`);
		checkRegion(region, meta.shape);
		return { ...(await readChunks(get, meta.shape, meta.chunks, region, v2Dtype(meta.dtype))), fillValue: v2Fill(meta) };
	}
	const arr = await viaCallback((cb) => zarr.load(uri, cb));
	const meta = await metadataDocument(request, `${uri}/.zarray`);
	const { dtype, data } = canonicalData(arr.data, v2Dtype(meta.dtype));
	const shape = [...arr.shape];
	return { shape, dtype, data: offsetView(data, arr.offset), stride: [...arr.stride], fillValue: v2Fill(meta) };
}

async function readV3(zarr, request, uri, region) {
	const get = await viaCallback((cb) => zarr.open(uri, cb));
	const meta = await metadataDocument(request, `${uri}/zarr.json`);
	checkRegion(region, meta.shape);
	const first = meta.codecs?.[0];
	// The key of zarr-js's get(): a chunk of the grid, or an inner chunk of a shard.
	const chunks = first?.name === "sharding_indexed" ? first.configuration.chunk_shape : meta.chunk_grid.configuration.chunk_shape;
	return { ...(await readChunks(get, meta.shape, chunks, region, meta.data_type)), fillValue: meta.fill_value };
}

function offsetView(data, offset) {
	return offset ? data.subarray(offset) : data;
}

async function read(target, path, format, region) {
	if (format === "n5") throw new Unsupported("zarr-js reads zarr v2 and v3 only (no N5)");
	const [root, request, config = {}] = location(target);
	const uri = path ? `${root}/${path}` : root;
	const version = format === "zarr3" ? "v3" : "v2";
	const r = tracked(request);
	const zarr = version === "v3" ? zarrJs(r, version, config) : zarrJs(r, version);
	let result;
	try {
		result = version === "v3" ? await readV3(zarr, r, uri, region) : await readV2(zarr, r, uri, region);
	} catch (err) {
		// zarr-js holds chunks in the typed array of its own table of data types; for any other
		// data type `new constructors[dtype](...)` throws this TypeError: it lacks the type.
		if (errorChain(err).some((e) => e instanceof TypeError && /constructors\[.*\] is not a constructor/.test(e.message))) {
			let declared = "?";
			try {
				const meta = await metadataDocument(request, `${uri}/${version === "v3" ? "zarr.json" : ".zarray"}`);
				declared = version === "v3" ? JSON.stringify(meta.data_type) : JSON.stringify(meta.dtype);
			} catch {
				// the data type stays unnamed
			}
			throw new Unsupported(`zarr-js has no array type for data type ${declared}: ${errorText(err)}`);
		}
		throw err;
	}
	return { ...result, attributes: {} };
}

// --- what counts as "the library lacks the feature" ----------------------------------------

function unsupportedReason(err) {
	// v2: "compressor blosc is not supported" (thrown while decoding, so it escapes).
	if (errorChain(err).some((e) => e instanceof Error && /^compressor .* is not supported$/.test(e.message))) return errorText(err);
	return null;
}

process.exit(await main(async () => ({
	impl: "zarr-js-freeman",
	language: "javascript",
	verbs: ["read"],
	lacks: { write: "zarr-js is a reader only (\"a minimal library purely for reading Zarr files\"): it has no writer" },
	version: () => packageVersion("zarr-js", (n) => import.meta.resolve(n)),
	components: () => ({
		fflate: packageVersion("fflate", (n) => import.meta.resolve(n)),
		aws4: packageVersion("aws4", (n) => import.meta.resolve(n)),
		node: process.versions.node,
	}),
	read,
	unsupportedReason,
})));
