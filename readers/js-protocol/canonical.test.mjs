// The canonical code of protocol.mjs on the committed vectors (canonical/vectors/vectors.json):
// canonical bytes and hashes of arrays in the in-memory forms the JavaScript libraries return
// (TypedArrays, byte buffers for S<n>/U<n>, JS strings, strided views), and fill values both
// ways (fillToJSON as written by stringifyJSON, fillFromJSON). Run with `node --test`.
//
// ZC_VECTORS names another vectors file; ZC_VECTORS_REPORT a file that gets one line per
// vector ("ok|skip|FAIL array|fill NAME[: why]") for the project's pytest wrapper.

import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";

import { canonicalBytes, canonicalHash, fillFromJSON, fillToJSON, parseJSON, stringifyJSON } from "./protocol.mjs";

const VECTORS = process.env.ZC_VECTORS ?? new URL("../../canonical/vectors/vectors.json", import.meta.url);
const doc = parseJSON(readFileSync(VECTORS, "utf8"));
const REPORT = process.env.ZC_VECTORS_REPORT;
if (REPORT) writeFileSync(REPORT, "");

function report(status, kind, name, why) {
	if (REPORT) appendFileSync(REPORT, `${status} ${kind} ${name}${why ? `: ${why}` : ""}\n`);
}

const hex = (h) => Buffer.from(h, "hex");

// The TypedArray a library holds elements of a dtype in (raw bits where JS has no such type:
// float16 as Uint16Array, complex as interleaved floats, bool as bytes, S<n> as bytes, U<n>
// as UTF-32 code units).
const TYPED = {
	bool: Uint8Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
	int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
	float16: Uint16Array, float32: Float32Array, float64: Float64Array, complex64: Float32Array,
	complex128: Float64Array,
};

function typedOf(dtype, bytes) {
	const buf = new Uint8Array(bytes.length);
	buf.set(bytes); // a fresh, aligned ArrayBuffer
	const Ctor = TYPED[dtype] ?? (dtype.startsWith("U") ? Uint32Array : Uint8Array);
	return new Ctor(buf.buffer);
}

function utf32(values, n) {
	const out = new Uint32Array(values.length * n);
	values.forEach((v, i) => {
		[...v].forEach((ch, j) => {
			out[i * n + j] = ch.codePointAt(0);
		});
	});
	return out;
}

/** The elements of a C-order buffer laid out in F order, with F-order strides. */
function fOrder(bytes, shape, size) {
	const n = shape.reduce((a, b) => a * b, 1);
	const out = new Uint8Array(bytes.length);
	const cStride = [];
	for (let i = shape.length - 1, s = 1; i >= 0; i--) {
		cStride[i] = s;
		s *= shape[i];
	}
	const fStride = [];
	for (let i = 0, s = 1; i < shape.length; i++) {
		fStride[i] = s;
		s *= shape[i];
	}
	for (let k = 0; k < n; k++) {
		let off = 0;
		for (let d = 0; d < shape.length; d++) off += Math.floor(k / cStride[d]) % shape[d] * fStride[d];
		out.set(bytes.subarray(k * size, (k + 1) * size), off * size);
	}
	return { bytes: out, stride: fStride };
}

for (const v of doc.arrays) {
	test(`array ${v.name}`, () => {
		const want = hex(v.canonical);
		const forms = [];
		if (v.dtype === "string") {
			forms.push(["JS strings", v.input.values, undefined]);
		} else {
			const n = v.shape.reduce((a, b) => a * b, 1);
			const bytes = v.dtype.startsWith("U")
				? new Uint8Array(utf32(v.input.values, Number(v.dtype.slice(1))).buffer)
				: hex(v.input.hex);
			forms.push(["C order", typedOf(v.dtype, bytes), undefined]);
			if (v.shape.length >= 2 && n) {
				const f = fOrder(bytes, v.shape, bytes.length / n);
				forms.push(["F-order strides", typedOf(v.dtype, f.bytes), f.stride]);
			}
		}
		if (v.dtype === "string" && v.shape.length >= 2) {
			// a strided array of strings: the transpose's elements with F strides
			const f = fOrder(Uint8Array.from(v.input.values.keys()), v.shape, 1);
			forms.push(["F-order strides", Array.from(f.bytes, (i) => v.input.values[i]), f.stride]);
		}
		try {
			for (const [form, data, stride] of forms) {
				const got = canonicalBytes(v.dtype, v.shape, data, stride);
				assert.equal(Buffer.from(got).toString("hex"), want.toString("hex"), `canonical bytes (${form})`);
				assert.equal(canonicalHash(got), v.hash, `hash (${form})`);
			}
		} catch (err) {
			report("FAIL", "array", v.name, err.message.split("\n")[0]);
			throw err;
		}
		report("ok", "array", v.name);
	});
}

// --- fill values -------------------------------------------------------------------

const WIDTH = { float16: 2, float32: 4, float64: 8, complex64: 4, complex128: 8 };

function half(bits) {
	const s = bits & 0x8000 ? -1 : 1;
	const e = (bits >> 10) & 0x1f;
	const m = bits & 0x3ff;
	if (e === 0x1f) return m ? NaN : s * Infinity;
	return e ? s * 2 ** (e - 15) * (1 + m / 1024) : s * 2 ** -14 * (m / 1024);
}

function floatOf(buf, width) {
	if (width === 2) return half(buf.readUInt16LE(0));
	return width === 4 ? buf.readFloatLE(0) : buf.readDoubleLE(0);
}

/** The fill value of a vector as the JS libraries report one (zarrita: BigInt for 64-bit integers). */
function libraryValues(dt, val) {
	if (val === null) return [null];
	if ("text" in val) return [val.text];
	const raw = hex(val.hex);
	if (dt.startsWith("S")) return [new Uint8Array(raw), Buffer.from(raw)];
	if (dt === "bool") return [raw[0] !== 0];
	if (dt in WIDTH) {
		const w = WIDTH[dt];
		const parts = [];
		for (let i = 0; i < raw.length; i += w) parts.push(floatOf(raw.subarray(i, i + w), w));
		return [dt.startsWith("complex") ? parts : parts[0]];
	}
	const x = typedOf(dt, raw)[0];
	// a safe 64-bit integer may also come as a number
	return typeof x === "bigint" && Number.isSafeInteger(Number(x)) ? [x, Number(x)] : [x];
}

/** Equal as protocol JSON: floats by value with the sign of zero, integers exactly. */
function sameJSON(got, want, floats) {
	if (want === null || typeof want === "boolean" || typeof want === "string") return got === want;
	if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => sameJSON(got[i], w, floats));
	if (floats) return typeof got === "number" && Object.is(got, typeof want === "bigint" ? Number(want) : want);
	return (typeof got === "number" || typeof got === "bigint") && BigInt(got) === BigInt(want);
}

function bitsOf(x, dtype) {
	const b = Buffer.alloc(WIDTH[dtype]);
	if (WIDTH[dtype] === 4) b.writeFloatLE(x);
	else if (WIDTH[dtype] === 8) b.writeDoubleLE(x);
	else throw new Error("no float16 writer");
	return b;
}

/** Decoded fill value (as fillFromJSON gives it) against the vector's `decoded`. */
function checkDecoded(got, v) {
	const dt = v.dtype;
	const d = v.decoded;
	if (d === null) return assert.equal(got, null, "decodes to null");
	if ("text" in d) return assert.equal(got, d.text, "decoded text");
	const want = hex(d.hex);
	if (dt.startsWith("S")) {
		const n = Number(dt.slice(1));
		const padded = Buffer.alloc(n);
		Buffer.from(got).copy(padded);
		return assert.equal(padded.toString("hex"), want.toString("hex"), "decoded bytes (NUL-padded to n)");
	}
	if (dt === "bool") return assert.equal(got, want[0] !== 0, "decoded bool");
	if (dt in WIDTH) {
		const w = WIDTH[dt];
		const parts = dt.startsWith("complex") ? got : [got];
		assert.equal(parts.length * w, want.length, "number of parts");
		parts.forEach((p, i) => {
			const expect = floatOf(want.subarray(i * w, (i + 1) * w), w);
			assert.equal(typeof p, "number", "a float part is a number");
			if (Number.isNaN(expect)) return assert.ok(Number.isNaN(p), "decodes to a NaN");
			if (w === 2) return assert.ok(Object.is(p, expect), `decoded ${p}, expected ${expect}`);
			// the value as the library stores it in the dtype's width
			assert.equal(bitsOf(p, dt).toString("hex"), want.subarray(i * w, (i + 1) * w).toString("hex"), `decoded ${p}`);
		});
		return;
	}
	assert.equal(BigInt(got), BigInt(typedOf(dt, want)[0]), "decoded integer");
}

for (const v of doc.fill_values) {
	test(`fill ${v.name}`, () => {
		const floats = v.dtype in WIDTH;
		try {
			// A decode-only spelling: the value it decodes to is written as canonical_json.
			const [value, json] = v.decode_only ? [v.decoded, v.canonical_json] : [v.value, v.json];
			for (const x of libraryValues(v.dtype, value)) {
				const text = stringifyJSON(fillToJSON(x, v.dtype));
				assert.ok(sameJSON(parseJSON(text), json, floats), `fillToJSON(${String(x)}) wrote ${text}, expected ${stringifyJSON(json)}`);
			}
			checkDecoded(fillFromJSON(v.json, v.dtype), v);
		} catch (err) {
			report("FAIL", "fill", v.name, err.message.split("\n")[0]);
			throw err;
		}
		report("ok", "fill", v.name);
	});
}
