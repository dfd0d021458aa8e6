#!/usr/bin/env node
// zarr-conformance adapter (protocol 2) for zarr.js (npm package `zarr`), in plain
// JavaScript (ES modules; no TypeScript build step: `npm ci` and two source files).
//
// zarr.js implements zarr v2 only. Stores: zarr.js ships HTTPStore (fetch) and
// MemoryStore; its extension point is the Store interface (getItem/setItem/
// containsItem/deleteItem/keys, KeyError for a missing key), so this adapter adds the two
// stores a Node user writes for it: a file-system store (synchronous writes; zarr.js does
// not await setItem when it stores a chunk) and a SigV4-signing S3 store (signed by
// `aws4`). HTTP and anonymous S3 (endpoint/bucket/key) use zarr.js's own HTTPStore.
//
// Writing: zarr.openGroup / Group.createGroup / zarr.create with the case's dtype,
// compressor, filters, order, dimension_separator and fill value, attributes through
// `.attrs.put`, the data with ZarrArray.set chunk by chunk (missing chunks unwritten).
// What zarr.js refuses ("not supported") is answered "unsupported" with its own text.
//
// Reading: ZarrArray.getRaw, of the whole array or of a region as zarr.js's own selection,
// [zarr.slice(start, stop, step), ...], with which it fetches and decodes only the chunks
// the region touches.
//
// hello.version is read at run time from the installed zarr package.json.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import "./float16.mjs"; // before zarr.js: it looks for a global Float16Array when it loads
import aws4 from "aws4";
import { LZ4, Zstd } from "numcodecs";
import * as zarr from "zarr";

import {
	AZURE_API_VERSION, azureSharedKeyHeaders, checkRegion, chunkIndices, chunkRegion, errorChain, errorText, extractRegion, fillFromJSON,
	main, packageVersion, s3CanonicalPath,
	Unsupported,
} from "zc-protocol";

// zarr.js registers zlib, gzip and blosc from numcodecs.js (its own codec dependency); the
// other numcodecs.js codecs are added, as its users add them, through zarr.addCodec.
zarr.addCodec(LZ4.codecId, () => LZ4);
zarr.addCodec(Zstd.codecId, () => Zstd);

// --- stores -------------------------------------------------------------------

/** A zarr.js Store on a local directory. */
class FileSystemStore {
	constructor(root) {
		this.root = root;
	}
	#path(key) {
		return join(this.root, ...key.split("/").filter(Boolean));
	}
	async getItem(key) {
		try {
			return readFileSync(this.#path(key));
		} catch (err) {
			if (err.code === "ENOENT" || err.code === "ENOTDIR" || err.code === "EISDIR") throw new zarr.KeyError(key);
			throw err;
		}
	}
	async setItem(key, value) {
		const p = this.#path(key);
		mkdirSync(dirname(p), { recursive: true });
		writeFileSync(p, typeof value === "string" ? value : new Uint8Array(value instanceof ArrayBuffer ? value : value.buffer));
		return true;
	}
	async deleteItem(key) {
		rmSync(this.#path(key), { force: true });
		return true;
	}
	async containsItem(key) {
		const p = this.#path(key);
		return existsSync(p) && statSync(p).isFile();
	}
	async keys() {
		const out = [];
		const walk = (dir, prefix) => {
			for (const e of readdirSync(dir, { withFileTypes: true })) {
				if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}/`);
				else out.push(prefix + e.name);
			}
		};
		if (existsSync(this.root)) walk(this.root, "");
		return out;
	}
}

/** A read-only zarr.js Store on path-style S3, every request signed with SigV4. */
class SignedS3Store {
	constructor(target) {
		this.base = new URL(joinUrl(target.endpoint, target.bucket, target.key ?? "") + "/");
		this.region = target.region || "us-east-1";
		this.credentials = { accessKeyId: target.access_key_id, secretAccessKey: target.secret_access_key };
	}
	async #fetch(key, method) {
		const url = new URL(key.replace(/^\/+/, ""), this.base);
		const path = s3CanonicalPath(url.pathname);
		const signed = aws4.sign(
			{ host: url.host, path: path + url.search, method, headers: {}, service: "s3", region: this.region, doNotEncodePath: true },
			this.credentials,
		);
		const { Host, host, ...headers } = signed.headers; // fetch sets Host from the URL itself
		return fetch(`${url.origin}${path}${url.search}`, { method, headers });
	}
	async getItem(key) {
		const resp = await this.#fetch(key, "GET");
		if (resp.status === 404) throw new zarr.KeyError(key);
		if (resp.status !== 200) throw new zarr.HTTPError(String(resp.status));
		return Buffer.from(await resp.arrayBuffer());
	}
	async containsItem(key) {
		return (await this.#fetch(key, "HEAD")).status === 200;
	}
	async setItem() {
		throw new Error("this S3 store is read-only");
	}
	async deleteItem() {
		throw new Error("this S3 store is read-only");
	}
	keys() {
		throw new Error("listing is not implemented for this S3 store");
	}
}

/** A read-only zarr.js Store on Azure Blob (path-style endpoint/container/blob), signed with Shared Key. */
class SharedKeyAzureStore {
	constructor(target) {
		this.target = target;
		this.base = new URL(joinUrl(target.endpoint, target.container, target.prefix ?? "") + "/");
	}
	async #fetch(key, method) {
		const url = new URL(key.replace(/^\/+/, ""), this.base);
		return fetch(url, { method, headers: azureSharedKeyHeaders(this.target, method, url.href) });
	}
	async getItem(key) {
		const resp = await this.#fetch(key, "GET");
		if (resp.status === 404) throw new zarr.KeyError(key);
		if (resp.status !== 200) throw new zarr.HTTPError(String(resp.status));
		return Buffer.from(await resp.arrayBuffer());
	}
	async containsItem(key) {
		return (await this.#fetch(key, "HEAD")).status === 200;
	}
	async setItem() {
		throw new Error("this Azure store is read-only");
	}
	async deleteItem() {
		throw new Error("this Azure store is read-only");
	}
	keys() {
		throw new Error("listing is not implemented for this Azure store");
	}
}

function joinUrl(base, ...parts) {
	return [base.replace(/\/+$/, ""), ...parts.map((p) => p.replace(/^\/+|\/+$/g, "")).filter(Boolean)].join("/");
}

function readStore(target) {
	switch (target.kind) {
		case "local":
			return new FileSystemStore(target.path);
		case "http":
			return new zarr.HTTPStore(target.url.replace(/\/+$/, ""));
		case "s3":
			return target.anonymous
				? new zarr.HTTPStore(joinUrl(target.endpoint, target.bucket, target.key ?? ""))
				: new SignedS3Store(target);
		// GCS (its XML API, endpoint/bucket/key) through HTTPStore with the bearer token as a header;
		// Azure Blob (endpoint/container/blob) through HTTPStore when anonymous, else signed with Shared Key.
		case "gcs": {
			const url = joinUrl(target.endpoint, target.bucket, target.prefix ?? "");
			const headers = !target.anonymous && target.token ? { authorization: `Bearer ${target.token}` } : {};
			return new zarr.HTTPStore(url, { fetchOptions: { headers } });
		}
		case "azure":
			return target.anonymous
				? new zarr.HTTPStore(joinUrl(target.endpoint, target.container, target.prefix ?? ""),
					{ fetchOptions: { headers: { "x-ms-version": AZURE_API_VERSION } } })
				: new SharedKeyAzureStore(target);
		default:
			throw new Unsupported(`store kind ${JSON.stringify(target.kind)} is not known to this adapter`);
	}
}

// --- dtypes -------------------------------------------------------------------

// Canonical dtype -> the zarr v2 dtype string written for it.
const V2_DTYPE = {
	bool: "|b1", int8: "|i1", uint8: "|u1", int16: "<i2", uint16: "<u2", int32: "<i4", uint32: "<u4",
	int64: "<i8", uint64: "<u8", float16: "<f2", float32: "<f4", float64: "<f8", complex64: "<c8", complex128: "<c16",
	string: "|O",
};

/** Canonical dtype name of a zarr v2 dtype string as zarr.js reports it. */
function canonicalDtype(dtype) {
	const m = /^[<>|]([a-zA-Z])(\d+)$/.exec(dtype);
	if (!m) return String(dtype);
	const [, kind, n] = m;
	const bits = Number(n) * 8;
	switch (kind) {
		case "b": return n === "1" ? "bool" : dtype;
		case "i": return `int${bits}`;
		case "u": return `uint${bits}`;
		case "f": return `float${bits}`;
		case "c": return `complex${bits}`;
		case "S": return `S${n}`;
		case "U": return `U${n}`;
		default: return dtype;
	}
}

// --- write ----------------------------------------------------------------------

async function write(c, parts, target) {
	if (c.format !== "zarr2") throw new Unsupported(`zarr.js implements zarr v2 only (no ${c.format})`);
	if (target.kind !== "local") throw new Unsupported("this adapter writes to local stores only");
	const dtype = V2_DTYPE[c.dtype] ?? (/^S\d+$/.test(c.dtype) ? `|${c.dtype}` : /^U\d+$/.test(c.dtype) ? `<${c.dtype}` : c.dtype);
	// zarr.js holds every array in a TypedArray: ask it for the one of this dtype before
	// anything is written (it throws "Dtype not recognized or not supported in zarr.js").
	zarr.getTypedArrayCtr(dtype);
	const store = new FileSystemStore(target.path);

	// The groups above the array: the root group and those on the array's path, unless the
	// array is the root itself (case.path ""), whose .zarray then sits at the dataset root.
	if (c.path) {
		const groups = { ...(c.groups ?? {}) };
		const parents = c.path.split("/").slice(0, -1);
		for (let i = 1; i <= parents.length; i++) groups[parents.slice(0, i).join("/")] ??= {};
		const root = await zarr.openGroup(store, null, "a");
		if (Object.keys(groups[""] ?? {}).length) await root.attrs.put(groups[""]);
		delete groups[""];
		const ordered = Object.keys(groups).sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1));
		for (const g of ordered) {
			const grp = await root.createGroup(g);
			if (Object.keys(groups[g] ?? {}).length) await grp.attrs.put(groups[g]);
		}
	}

	const fill = fillFromJSON(c.fill_value, c.dtype);
	const arr = await zarr.create({
		shape: c.shape,
		chunks: c.chunks,
		dtype,
		compressor: c.compressor ?? null,
		filters: c.filters ?? null,
		fillValue: fill,
		order: c.order ?? "C",
		store,
		path: c.path || null,
		dimensionSeparator: c.dimension_separator ?? ".",
	});
	if (Object.keys(c.attributes ?? {}).length) await arr.attrs.put(c.attributes);

	const shape = c.shape;
	const n = shape.reduce((a, b) => a * b, 1);
	const size = parts.bytes.length / Math.max(1, n);
	const nested = (bytes, s) => new zarr.NestedArray(bytes.buffer, s, dtype);
	const missing = new Set((c.missing_chunks ?? []).map((m) => m.join(",")));
	if (shape.length === 0 || !missing.size) {
		await arr.set(null, nested(parts.bytes, shape));
		return;
	}
	for (const idx of chunkIndices(shape, c.chunks)) {
		if (missing.has(idx.join(","))) continue;
		const region = chunkRegion(idx, shape, c.chunks);
		const sub = extractRegion(parts.bytes, shape, region, size);
		await arr.set(region.map(([a, b]) => zarr.slice(a, b)), nested(sub.bytes, sub.shape));
	}
}

// --- read -----------------------------------------------------------------------

async function read(target, path, format, region) {
	if (format && format !== "zarr2") throw new Unsupported(`zarr.js implements zarr v2 only (no ${format})`);
	const arr = await zarr.openArray({ store: readStore(target), path: path || null, mode: "r" });
	checkRegion(region, arr.shape);
	const selection = region?.length ? region.map(([start, stop, step]) => zarr.slice(start, stop, step)) : null;
	const out = await arr.getRaw(selection);
	const attributes = await arr.attrs.asObject();
	return { shape: out.shape, dtype: canonicalDtype(arr.dtype), data: out.data, fillValue: arr.fillValue, attributes };
}

// --- what counts as "the library lacks the feature" -------------------------------

function unsupportedReason(err, op) {
	// zarr.js says so in words: "... is not supported by Zarr.js yet", "Dtype not recognized
	// or not supported in zarr.js", "Filters are not supported yet", "Shape [] indexing is
	// not supported yet", "Setting content for arrays in F-order is not supported."
	if (errorChain(err).some((e) => e instanceof Error && /not supported/i.test(e.message))) return errorText(err);
	if (op === "write" && err instanceof TypeError && /BigInt/.test(err.message)) {
		return "zarr.js writes metadata with JSON.stringify, which cannot write an integer beyond 2^53 " +
			`(a fill value or attribute only a BigInt holds exactly): ${errorText(err)}`;
	}
	return null;
}

process.exit(await main(async () => ({
	impl: "zarr-js",
	language: "typescript",
	verbs: ["read", "write"],
	version: () => packageVersion("zarr", (n) => import.meta.resolve(n)),
	components: () => ({
		numcodecs: packageVersion("numcodecs", (n) => import.meta.resolve(n)),
		"@petamoriken/float16": packageVersion("@petamoriken/float16", (n) => import.meta.resolve(n)),
		aws4: packageVersion("aws4", (n) => import.meta.resolve(n)),
		node: process.versions.node,
	}),
	write,
	read,
	unsupportedReason,
})));
