// Protocol 2 of zarr-conformance for JavaScript adapters (docs/protocol.md): the
// persistent JSON-lines loop, the one-shot CLI, regions (parsed and checked here, read by
// the backend through its library's own selection), canonical bytes, hashes and the JSON
// forms of fill values. A backend only knows its library (read, write, version).
//
// The package zc-protocol, shared by readers/zarrita-js, readers/zarr-js and
// readers/zarr-js-freeman (each a self-contained npm package that depends on it as
// file:../js-protocol, built from its own directory).
//
// JSON: requests are parsed with parseJSON, which keeps integers beyond 2^53 exact (as
// BigInt); responses are written with stringifyJSON, which writes BigInt as exact
// integers and -0 as -0.0. What a library itself does with such values is its own
// business: the adapter hands them over and reports what the library returns.

import { createHash, createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

export const PROTOCOL = 2; // 2: reads of a region (docs/protocol.md)

/** The library (or this adapter's use of it) lacks the feature a request needs. */
export class Unsupported extends Error {
	constructor(message, options) {
		super(message, options);
		this.name = "Unsupported";
	}
}

/** A request the adapter cannot serve as asked (a malformed region): answered "BadRequest: ...". */
export class BadRequest extends Error {
	constructor(message) {
		super(message);
		this.name = "BadRequest";
	}
}

// --- JSON -----------------------------------------------------------------------

/** JSON.parse, except that integers that are not safe JS numbers become BigInt. */
export function parseJSON(text) {
	let pos = 0;
	const fail = (what) => {
		throw new SyntaxError(`${what} at position ${pos} of JSON text`);
	};
	const ws = () => {
		while (pos < text.length && " \t\n\r".includes(text[pos])) pos++;
	};
	const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
	function value() {
		ws();
		const c = text[pos];
		if (c === "{") {
			pos++;
			const obj = {};
			ws();
			if (text[pos] === "}") {
				pos++;
				return obj;
			}
			for (;;) {
				ws();
				if (text[pos] !== '"') fail("expected a string key");
				const key = string();
				ws();
				if (text[pos++] !== ":") fail("expected ':'");
				obj[key] = value();
				ws();
				const sep = text[pos++];
				if (sep === "}") return obj;
				if (sep !== ",") fail("expected ',' or '}'");
			}
		}
		if (c === "[") {
			pos++;
			const arr = [];
			ws();
			if (text[pos] === "]") {
				pos++;
				return arr;
			}
			for (;;) {
				arr.push(value());
				ws();
				const sep = text[pos++];
				if (sep === "]") return arr;
				if (sep !== ",") fail("expected ',' or ']'");
			}
		}
		if (c === '"') return string();
		for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
			if (text.startsWith(word, pos)) {
				pos += word.length;
				return v;
			}
		}
		NUMBER.lastIndex = pos;
		const m = NUMBER.exec(text);
		if (!m) fail("unexpected token");
		pos += m[0].length;
		const n = Number(m[0]);
		if (!m[1] && !m[2] && !Number.isSafeInteger(n)) return BigInt(m[0]);
		return n;
	}
	function string() {
		const start = pos++;
		while (pos < text.length && text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
		if (pos >= text.length) fail("unterminated string");
		pos++;
		return JSON.parse(text.slice(start, pos));
	}
	const out = value();
	ws();
	if (pos !== text.length) fail("unexpected data after the JSON value");
	return out;
}

/** JSON text with BigInt as exact integers and -0 as -0.0; NaN/Infinity are refused. */
export function stringifyJSON(v, indent = "", step = "") {
	if (v === null || v === undefined) return "null";
	if (typeof v === "bigint") return v.toString();
	if (typeof v === "number") {
		if (!Number.isFinite(v)) throw new TypeError(`${v} has no JSON form`);
		return Object.is(v, -0) ? "-0.0" : JSON.stringify(v);
	}
	if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
	const inner = indent + step;
	const nl = step ? "\n" : "";
	const colon = step ? ": " : ":";
	if (Array.isArray(v)) {
		if (!v.length) return "[]";
		const items = v.map((x) => inner + stringifyJSON(x, inner, step));
		return `[${nl}${items.join(`,${nl}`)}${nl}${indent}]`;
	}
	const keys = Object.keys(v).filter((k) => v[k] !== undefined);
	if (!keys.length) return "{}";
	const items = keys.map((k) => inner + JSON.stringify(k) + colon + stringifyJSON(v[k], inner, step));
	return `{${nl}${items.join(`,${nl}`)}${nl}${indent}}`;
}

// --- errors ---------------------------------------------------------------------

function oneError(err) {
	if (!(err instanceof Error)) return `Error: ${String(err)}`;
	const ctor = err.constructor?.name;
	const name = ctor && ctor !== "Error" && ctor !== "Object" ? ctor : err.name || "Error";
	return `${name}: ${err.message}`.trim();
}

/** "Type: message", followed by the chain of causes the library attached. */
export function errorText(err) {
	const parts = [oneError(err)];
	let cause = err instanceof Error ? err.cause : undefined;
	for (let depth = 0; cause !== undefined && depth < 5; depth++) {
		parts.push(oneError(cause));
		cause = cause instanceof Error ? cause.cause : undefined;
	}
	return parts.join(" <- caused by ");
}

/** Every error of a cause chain, outermost first. */
export function errorChain(err) {
	const out = [];
	for (let e = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
		out.push(e);
		e = e instanceof Error ? e.cause : undefined;
	}
	return out;
}

// --- regions (protocol 2) -------------------------------------------------------

/**
 * A request's region ([start, stop, step] per axis, a Python slice start:stop:step) as a list
 * of [start, stop, step] numbers; null (absent or null) for the whole array. A malformed one
 * is a BadRequest. Its fit to the array's shape is checked by checkRegion, once it is open.
 */
export function parseRegion(region) {
	if (region === null || region === undefined) return null;
	const int = (v) => typeof v === "number" && Number.isSafeInteger(v);
	const ok = Array.isArray(region) && region.every((r) =>
		Array.isArray(r) && r.length === 3 && r.every(int) && 0 <= r[0] && r[0] < r[1] && r[2] >= 1);
	if (!ok) {
		throw new BadRequest(`a region is a list of [start, stop, step] with 0 <= start < stop and step >= 1: ${stringifyJSON(region)}`);
	}
	return region.map((r) => [...r]);
}

/** A region must name every axis of the array and stay inside its shape (null: the whole array). */
export function checkRegion(region, shape) {
	if (region === null) return;
	if (region.length !== shape.length || region.some(([, stop], d) => stop > shape[d])) {
		throw new BadRequest(`region ${stringifyJSON(region)} does not fit shape ${stringifyJSON([...shape])}`);
	}
}

/** The shape of a region's selection: ceil((stop - start) / step) per axis. */
export function regionShape(region) {
	return region.map(([start, stop, step]) => Math.ceil((stop - start) / step));
}

// --- canonical bytes ------------------------------------------------------------

const ITEMSIZE = {
	bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8,
	float16: 2, float32: 4, float64: 8, complex64: 8, complex128: 16,
};

/** Bytes per element of a canonical dtype (S<n>: n, U<n>: 4n); null for "string". */
export function itemsize(dtype) {
	if (dtype in ITEMSIZE) return ITEMSIZE[dtype];
	const m = /^([SU])([1-9][0-9]*)$/.exec(dtype);
	if (m) return Number(m[2]) * (m[1] === "U" ? 4 : 1);
	if (dtype === "string") return null;
	throw new Error(`unknown canonical dtype ${dtype}`);
}

function cStrides(shape) {
	const stride = new Array(shape.length);
	let step = 1;
	for (let i = shape.length - 1; i >= 0; i--) {
		stride[i] = step;
		step *= shape[i];
	}
	return stride;
}

/** Element offsets (in the library's strided layout) of the array in C order. */
function* cOrderOffsets(shape, stride) {
	const n = shape.reduce((a, b) => a * b, 1);
	if (n === 0) return;
	const rank = shape.length;
	const idx = new Array(rank).fill(0);
	let off = 0;
	for (let k = 0; k < n; k++) {
		yield off;
		for (let d = rank - 1; d >= 0; d--) {
			idx[d]++;
			off += stride[d];
			if (idx[d] < shape[d]) break;
			off -= stride[d] * shape[d];
			idx[d] = 0;
		}
	}
}

/**
 * Canonical bytes of an array a library returned.
 * `data`: a buffer-backed array (TypedArray, or anything with buffer/byteOffset/byteLength
 * holding `itemsize(dtype)` little-endian bytes per element) or a JS Array of strings
 * ("string"); `stride`: element strides of `data` (C order when omitted).
 */
export function canonicalBytes(dtype, shape, data, stride) {
	stride = stride ?? cStrides(shape);
	if (dtype === "string") {
		const enc = new TextEncoder();
		const parts = [];
		for (const off of cOrderOffsets(shape, stride)) {
			const item = data[off];
			const raw = item instanceof Uint8Array ? item : enc.encode(typeof item === "string" ? item : String(item));
			const len = Buffer.alloc(4);
			len.writeUInt32LE(raw.length);
			parts.push(len, raw);
		}
		return Buffer.concat(parts);
	}
	const size = itemsize(dtype);
	const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
	const n = shape.reduce((a, b) => a * b, 1);
	const out = Buffer.alloc(n * size);
	let k = 0;
	for (const off of cOrderOffsets(shape, stride)) {
		out.set(src.subarray(off * size, off * size + size), k * size);
		k++;
	}
	if (dtype === "bool") {
		for (let i = 0; i < out.length; i++) out[i] = out[i] ? 1 : 0;
	} else if (dtype.startsWith("float") || dtype.startsWith("complex")) {
		const width = dtype === "float16" ? 2 : dtype === "float32" || dtype === "complex64" ? 4 : 8;
		for (let p = 0; p < out.length; p += width) {
			if (width === 2) {
				const bits = out.readUInt16LE(p);
				if ((bits & 0x7c00) === 0x7c00 && (bits & 0x03ff)) out.writeUInt16LE(0x7e00, p);
			} else if (width === 4) {
				if (Number.isNaN(out.readFloatLE(p))) out.writeUInt32LE(0x7fc00000, p);
			} else if (Number.isNaN(out.readDoubleLE(p))) {
				out.writeBigUInt64LE(0x7ff8000000000000n, p);
			}
		}
	}
	return out;
}

/** "sha256:" and the hex SHA-256 of canonical bytes. */
export function canonicalHash(raw) {
	return "sha256:" + createHash("sha256").update(raw).digest("hex");
}

/**
 * Reference data (element bytes, NaN payloads as they are) as plain parts a backend turns
 * into its library's arrays: {bytes: Uint8Array of itemsize-wide elements, C order} or, for
 * "string", {strings: string[]}.
 */
export function fromCanonicalBytes(buf, dtype, shape) {
	const n = shape.reduce((a, b) => a * b, 1);
	if (dtype === "string") {
		const dec = new TextDecoder();
		const strings = [];
		let pos = 0;
		while (pos < buf.length) {
			const len = buf.readUInt32LE(pos);
			strings.push(dec.decode(buf.subarray(pos + 4, pos + 4 + len)));
			pos += 4 + len;
		}
		if (strings.length !== n) throw new Error(`reference data holds ${strings.length} strings, shape needs ${n}`);
		return { strings };
	}
	const size = itemsize(dtype);
	if (buf.length !== n * size) throw new Error(`reference data has ${buf.length} bytes, expected ${n * size}`);
	// A fresh, aligned ArrayBuffer holding the elements.
	const bytes = new Uint8Array(buf.length);
	bytes.set(buf);
	return { bytes };
}

/** A JS value for a case's JSON fill value (NaN and infinities as numbers). */
export function fillFromJSON(value, dtype) {
	if (value === null || value === undefined) return null;
	const f = (v) => (typeof v === "string" ? { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity }[v] ?? Number(v) : v);
	if (dtype.startsWith("float")) return f(value);
	if (dtype.startsWith("complex")) return [f(value[0]), f(value[1])];
	if (dtype.startsWith("S")) return Buffer.from(value, "base64");
	return value;
}

function floatJSON(x) {
	if (Number.isNaN(x)) return "NaN";
	if (x === Infinity) return "Infinity";
	if (x === -Infinity) return "-Infinity";
	return x;
}

/** The protocol's JSON form of a fill value a library reports (null stays null). */
export function fillToJSON(value, dtype) {
	if (value === null || value === undefined) return null;
	if (dtype === "bool") return typeof value === "boolean" ? value : Boolean(value);
	if (/^u?int/.test(dtype)) return value; // number or BigInt, both written exactly
	if (dtype.startsWith("float")) return typeof value === "number" ? floatJSON(value) : value;
	if (dtype.startsWith("complex")) return Array.isArray(value) ? value.map(floatJSON) : value;
	if (dtype.startsWith("S")) {
		// A library value of bytes is written as base64 of those bytes; a JS string is
		// what a library fills byte-string arrays with as UTF-8 text, so its UTF-8 bytes.
		let raw = value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(String(value), "utf8");
		let end = raw.length;
		while (end > 0 && raw[end - 1] === 0) end--;
		return raw.subarray(0, end).toString("base64");
	}
	return String(value);
}

// --- requests -------------------------------------------------------------------

export class Adapter {
	constructor(backend) {
		this.backend = backend;
	}

	hello() {
		const b = this.backend;
		return {
			ok: true,
			impl: b.impl,
			version: b.version(),
			language: b.language,
			verbs: [...b.verbs],
			protocol: PROTOCOL,
			components: b.components(),
		};
	}

	async write(req) {
		const c = req.case;
		const parts = fromCanonicalBytes(readFileSync(req.data), c.dtype, c.shape);
		await this.backend.write(c, parts, req.target);
		return { status: "ok" };
	}

	async read(req) {
		const region = parseRegion(req.region);
		const t0 = process.hrtime.bigint();
		// The backend reads the region (after checkRegion on the open array) through its library.
		const r = await this.backend.read(req.target, req.path ?? "", req.format ?? null, region);
		const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
		const raw = canonicalBytes(r.dtype, r.shape, r.data, r.stride);
		if (req.dump) writeFileSync(req.dump, raw);
		return {
			status: "ok",
			shape: r.shape,
			dtype: r.dtype,
			hash: canonicalHash(raw),
			fill_value: fillToJSON(r.fillValue, r.dtype),
			attributes: r.attributes ?? {},
			elapsed_ms: Math.round(elapsed * 1000) / 1000,
		};
	}

	async handle(req) {
		const op = req.op;
		const id = req.id ?? null;
		try {
			if (op === "hello") return this.hello();
			if (op !== "read" && op !== "write") {
				return { id, status: "error", error: `BadRequest: unknown op ${JSON.stringify(op ?? null)}` };
			}
			if (!this.backend.verbs.includes(op)) {
				// A backend may say why its library lacks the verb (a reader-only library, say).
				return { id, status: "unsupported", error: this.backend.lacks?.[op] ?? `this adapter does not ${op}` };
			}
			const need = op === "write" ? ["case", "data", "target"] : ["target"];
			const missing = need.filter((k) => !(k in req));
			if (missing.length) return { id, status: "error", error: `BadRequest: missing ${missing.join(", ")}` };
			const resp = op === "write" ? await this.write(req) : await this.read(req);
			return { id, ...resp };
		} catch (err) {
			if (err instanceof Unsupported) return { id, status: "unsupported", error: err.message };
			if (err instanceof BadRequest) return { id, status: "error", error: errorText(err) };
			const reason = this.backend.unsupportedReason?.(err, op);
			if (reason) return { id, status: "unsupported", error: reason };
			process.stderr.write(`${err?.stack ?? err}\n`);
			return { id, status: "error", error: errorText(err) };
		}
	}

	async serve() {
		const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
		for await (const rawLine of rl) {
			const line = rawLine.trim();
			if (!line) continue;
			let req;
			try {
				req = parseJSON(line);
				if (req === null || typeof req !== "object" || Array.isArray(req)) throw new Error("a request is a JSON object");
			} catch (err) {
				respond({ id: null, status: "error", error: `BadRequest: ${err.message}` });
				continue;
			}
			if (req.op === "bye") break;
			respond(await this.handle(req));
		}
		return 0;
	}
}

function respond(resp) {
	let text;
	try {
		text = stringifyJSON(resp);
	} catch (err) {
		text = stringifyJSON({ id: resp.id ?? null, status: "error", error: `AdapterError: response not serializable: ${err.message}` });
	}
	process.stdout.write(text + "\n");
}

function parseArgs(argv) {
	const [cmd = "serve", ...rest] = argv;
	const opts = {};
	for (let i = 0; i < rest.length; i++) {
		const m = /^--([a-z-]+)(?:=(.*))?$/.exec(rest[i]);
		if (!m) throw new Error(`unexpected argument ${rest[i]}`);
		opts[m[1]] = m[2] !== undefined ? m[2] : rest[++i];
	}
	return { cmd, opts };
}

function argJSON(text) {
	if (text === undefined) throw new Error("missing a JSON argument");
	return parseJSON(text.startsWith("@") ? readFileSync(text.slice(1), "utf8") : text);
}

/** Entry point: `serve` (default) or one request from the command line. */
export async function main(makeBackend, argv = process.argv.slice(2)) {
	// Only responses go to stdout: anything a library logs goes to stderr.
	for (const k of ["log", "info", "debug", "warn"]) console[k] = (...a) => console.error(...a);
	// A library promise nobody awaits must not bring the worker down.
	process.on("unhandledRejection", (err) => process.stderr.write(`unhandled rejection: ${err?.stack ?? err}\n`));
	const { cmd, opts } = parseArgs(argv);
	const adapter = new Adapter(await makeBackend());
	if (cmd === "serve") return adapter.serve();
	let resp;
	if (cmd === "hello") resp = await adapter.handle({ op: "hello", protocol: PROTOCOL });
	else if (cmd === "read") {
		resp = await adapter.handle({
			op: "read", id: "cli", target: argJSON(opts["target-json"]), path: opts.path ?? "",
			format: opts.format ?? null, dump: opts.dump ?? null,
			region: opts["region-json"] !== undefined ? argJSON(opts["region-json"]) : null,
		});
	} else if (cmd === "write") {
		resp = await adapter.handle({
			op: "write", id: "cli", case: argJSON(opts["case-json"]), data: opts.data, target: argJSON(opts["target-json"]),
		});
	} else throw new Error(`unknown command ${cmd} (serve, hello, read, write)`);
	process.stdout.write(stringifyJSON(resp, "", "  ") + "\n");
	return resp.ok || resp.status === "ok" ? 0 : 1;
}

// --- small helpers for backends -------------------------------------------------

/** Chunk grid indices of an array, C order. */
export function* chunkIndices(shape, chunks) {
	const grid = shape.map((s, i) => Math.ceil(s / chunks[i]));
	const n = grid.reduce((a, b) => a * b, 1);
	for (let k = 0; k < n; k++) {
		const idx = new Array(grid.length);
		let r = k;
		for (let d = grid.length - 1; d >= 0; d--) {
			idx[d] = r % grid[d];
			r = Math.floor(r / grid[d]);
		}
		yield idx;
	}
}

/** [start, stop) per dimension of one chunk, clipped to the array. */
export function chunkRegion(idx, shape, chunks) {
	return idx.map((i, d) => [i * chunks[d], Math.min((i + 1) * chunks[d], shape[d])]);
}

/** Copy a region of a C-order element buffer into a new C-order buffer. */
export function extractRegion(bytes, shape, region, size) {
	const sub = region.map(([a, b]) => b - a);
	const n = sub.reduce((a, b) => a * b, 1);
	const out = new Uint8Array(n * size);
	const stride = cStrides(shape);
	let k = 0;
	for (const idx of chunkIndices(sub, sub.map(() => 1))) {
		let off = 0;
		for (let d = 0; d < idx.length; d++) off += (idx[d] + region[d][0]) * stride[d];
		out.set(bytes.subarray(off * size, off * size + size), k * size);
		k++;
	}
	return { bytes: out, shape: sub };
}

/** Same for an array of JS values. */
export function extractRegionValues(values, shape, region) {
	const sub = region.map(([a, b]) => b - a);
	const stride = cStrides(shape);
	const out = [];
	for (const idx of chunkIndices(sub, sub.map(() => 1))) {
		let off = 0;
		for (let d = 0; d < idx.length; d++) off += (idx[d] + region[d][0]) * stride[d];
		out.push(values[off]);
	}
	return { values: out, shape: sub };
}

/**
 * The version of an installed npm package, read from its package.json at run time.
 * `resolve` is the adapter's own import.meta.resolve: packages are found from the
 * adapter's node_modules, not from this shared module's directory.
 */
export function packageVersion(name, resolve) {
	// resolve gives the entry file; walk up to the package's own package.json
	// (some packages do not export ./package.json).
	let url = new URL(".", resolve(name));
	for (let i = 0; i < 8; i++, url = new URL("..", url)) {
		try {
			const pkg = JSON.parse(readFileSync(new URL("package.json", url), "utf8"));
			if (pkg.name === name) return pkg.version;
		} catch {
			// not here; go up
		}
	}
	return "unknown";
}

/**
 * A URL path in S3's canonical form: every segment percent-encoded per RFC 3986, so
 * that the path sent and the path signed agree ("+", spaces and non-ASCII included;
 * servers that check signatures, such as MinIO, refuse the request otherwise).
 */
export function s3CanonicalPath(pathname) {
	return pathname
		.split("/")
		.map((seg) =>
			encodeURIComponent(decodeURIComponent(seg)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
		)
		.join("/");
}

// --- Azure Blob: Shared Key -------------------------------------------------------------------

/** The Azure Storage REST API version the adapters' requests name (Azurite accepts it). */
export const AZURE_API_VERSION = "2021-08-06";

const AZURE_SIGNED_HEADERS = ["content-encoding", "content-language", "content-length", "content-md5", "content-type",
	"date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"];

/**
 * The headers of a request signed with an Azure Storage account key (the Shared Key scheme), for a
 * protocol Azure STORE object ({account, key}). `headers` are the request's own (lower-case names).
 */
export function azureSharedKeyHeaders(target, method, url, headers = {}) {
	const u = new URL(url);
	const h = {};
	for (const [name, value] of Object.entries(headers)) h[name.toLowerCase()] = value;
	h["x-ms-date"] = new Date().toUTCString();
	h["x-ms-version"] = AZURE_API_VERSION;
	const lines = [method, ...AZURE_SIGNED_HEADERS.map((k) => (k === "content-length" && (h[k] ?? "0") === "0" ? "" : h[k] ?? ""))];
	const msHeaders = Object.keys(h).filter((k) => k.startsWith("x-ms-")).sort().map((k) => `${k}:${String(h[k]).trim()}\n`).join("");
	let resource = `/${target.account}${u.pathname}`;
	for (const [k, v] of [...u.searchParams.entries()].map(([k, v]) => [k.toLowerCase(), v]).sort()) resource += `\n${k}:${v}`;
	const signature = createHmac("sha256", Buffer.from(target.key, "base64"))
		.update(`${lines.join("\n")}\n${msHeaders}${resource}`, "utf8").digest("base64");
	h.authorization = `SharedKey ${target.account}:${signature}`;
	return h;
}
