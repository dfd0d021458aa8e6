// Regions (protocol 2) in protocol.mjs: parsing and checking a request's region, the shape of
// its selection, and how the Adapter hands it to a backend and answers a malformed one
// ("BadRequest: ...", the adapter serving on). Run with `node --test`.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Adapter, BadRequest, checkRegion, PROTOCOL, parseJSON, parseRegion, regionShape } from "./protocol.mjs";

test("a region parses to [start, stop, step] per axis; absent or null is the whole array", () => {
	assert.deepEqual(parseRegion([[3, 17, 1], [5, 29, 4]]), [[3, 17, 1], [5, 29, 4]]);
	assert.equal(parseRegion(null), null);
	assert.equal(parseRegion(undefined), null);
	assert.deepEqual(parseRegion([]), []); // a 0-d array's (it has no axes to select on)
});

test("a malformed region is a BadRequest", () => {
	const bad = [
		"0:5", [[0, 5]], [[0, 5, 1, 1]], [[5, 5, 1]], [[6, 5, 1]], [[-1, 5, 1]], [[0, 5, 0]], [[0, 5, -1]],
		[[0, 5.5, 1]], [["0", 5, 1]], [[0, 5, true]], [[0, 5, null]], [[0, parseJSON("9007199254740993"), 1]], [0, 5, 1],
		{ 0: [0, 5, 1] },
	];
	for (const region of bad) assert.throws(() => parseRegion(region), BadRequest, JSON.stringify(String(region)));
});

test("a region must name every axis and stay inside the shape", () => {
	checkRegion(null, [4, 5]);
	checkRegion([[0, 4, 1], [4, 5, 3]], [4, 5]);
	checkRegion([], []);
	assert.throws(() => checkRegion([[0, 4, 1]], [4, 5]), BadRequest);
	assert.throws(() => checkRegion([[0, 4, 1], [0, 5, 1], [0, 1, 1]], [4, 5]), BadRequest);
	assert.throws(() => checkRegion([[0, 5, 1], [0, 5, 1]], [4, 5]), /does not fit shape \[4,5\]/);
	assert.throws(() => checkRegion([[0, 1, 1]], []), BadRequest);
});

test("the selection's shape is ceil((stop - start) / step) per axis", () => {
	assert.deepEqual(regionShape([[3, 17, 1], [5, 29, 4], [0, 1, 7], [2, 9, 3]]), [14, 6, 1, 3]);
	assert.deepEqual(regionShape([]), []);
});

function fakeAdapter(calls) {
	return new Adapter({
		impl: "fake", language: "javascript", verbs: ["read"], version: () => "0", components: () => ({}),
		async read(target, path, format, region) {
			calls.push(region);
			const shape = [4, 6];
			checkRegion(region, shape);
			const sel = region ? regionShape(region) : shape;
			return { shape: sel, dtype: "uint8", data: new Uint8Array(sel.reduce((a, b) => a * b, 1)), fillValue: 0 };
		},
		// as an adapter's own hook might, it takes anything for unsupported: a BadRequest is answered first
		unsupportedReason: () => "never a BadRequest",
	});
}

test("hello answers protocol 2; the read hands the parsed region to the backend", async () => {
	const calls = [];
	const adapter = fakeAdapter(calls);
	assert.equal(PROTOCOL, 2);
	assert.equal((await adapter.handle({ op: "hello", protocol: 2 })).protocol, 2);
	const r = await adapter.handle({ op: "read", id: "r", target: {}, region: [[1, 4, 1], [0, 6, 4]] });
	assert.equal(r.status, "ok", JSON.stringify(r));
	assert.deepEqual(r.shape, [3, 2]);
	const whole = await adapter.handle({ op: "read", id: "w", target: {}, region: null });
	assert.deepEqual(whole.shape, [4, 6]);
	assert.deepEqual(calls, [[[1, 4, 1], [0, 6, 4]], null]);
});

test("a malformed or ill-fitting region is answered BadRequest, and the adapter serves on", async () => {
	const calls = [];
	const adapter = fakeAdapter(calls);
	for (const region of [[[0, 0, 1], [0, 6, 1]], [[0, 4, 1]], [[0, 4, 1], [0, 7, 1]], "all"]) {
		const r = await adapter.handle({ op: "read", id: 7, target: {}, region });
		assert.equal(r.id, 7);
		assert.equal(r.status, "error");
		assert.match(r.error, /^BadRequest: /);
	}
	assert.equal(calls.length, 2); // the malformed two never reached the backend
	assert.equal((await adapter.handle({ op: "read", id: 8, target: {}, region: [[0, 4, 2], [5, 6, 1]] })).status, "ok");
});
