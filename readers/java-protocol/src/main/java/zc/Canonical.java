package zc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Canonical bytes, fill-value JSON and reference-data decoding of protocol v1, for the
 * numeric dtypes (docs/protocol.md). Tested on canonical/vectors by CanonicalVectors
 * (src/test/java), which tests/test_canonical.py runs.
 *
 * In memory an array is a flat C-order Java primitive array: bool as boolean[], (u)int8
 * as byte[], (u)int16 and float16 (raw bits) as short[], (u)int32 as int[], (u)int64 as
 * long[], float32 as float[], float64 as double[], complex as interleaved float[]/double[].
 * Unsigned values keep their bits in the signed Java type.
 */
public final class Canonical {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final BigInteger U64 = BigInteger.ONE.shiftLeft(64);

    private Canonical() {
    }

    public static boolean isNumeric(String dtype) {
        return switch (dtype) {
            case "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                 "float16", "float32", "float64", "complex64", "complex128" -> true;
            default -> false;
        };
    }

    public static int[] intArray(JsonNode node) {
        int[] out = new int[node.size()];
        for (int i = 0; i < out.length; i++) out[i] = node.get(i).intValue();
        return out;
    }

    public static long[] longArray(JsonNode node) {
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) out[i] = node.get(i).longValue();
        return out;
    }

    public static int size(int[] shape) {
        long n = 1;
        for (int s : shape) n *= s;
        return Math.toIntExact(n);
    }

    /** Reference data (raw element bytes, NaN payloads kept) as a flat primitive array; null for non-numeric dtypes. */
    public static Object decode(byte[] raw, String dtype, int n) {
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case "bool": {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = raw[i] != 0;
                return a;
            }
            case "int8":
            case "uint8": {
                byte[] a = new byte[n];
                bb.get(a);
                return a;
            }
            case "int16":
            case "uint16":
            case "float16": {
                short[] a = new short[n];
                bb.asShortBuffer().get(a);
                return a;
            }
            case "int32":
            case "uint32": {
                int[] a = new int[n];
                bb.asIntBuffer().get(a);
                return a;
            }
            case "int64":
            case "uint64": {
                long[] a = new long[n];
                bb.asLongBuffer().get(a);
                return a;
            }
            case "float32": {
                float[] a = new float[n];
                bb.asFloatBuffer().get(a);
                return a;
            }
            case "float64": {
                double[] a = new double[n];
                bb.asDoubleBuffer().get(a);
                return a;
            }
            case "complex64": {
                float[] a = new float[2 * n];
                bb.asFloatBuffer().get(a);
                return a;
            }
            case "complex128": {
                double[] a = new double[2 * n];
                bb.asDoubleBuffer().get(a);
                return a;
            }
            default:
                return null;
        }
    }

    private static void expect(Object data, Class<?> cls, String dtype) {
        if (!cls.isInstance(data)) {
            throw new IllegalStateException("adapter: " + dtype + " data arrived as "
                    + (data == null ? "null" : data.getClass().getSimpleName()) + ", expected " + cls.getSimpleName());
        }
    }

    /** Canonical bytes: C order, little-endian, bool as 0/1, every NaN the canonical quiet NaN. */
    public static byte[] bytes(Object data, String dtype) {
        switch (dtype) {
            case "bool": {
                expect(data, boolean[].class, dtype);
                boolean[] a = (boolean[]) data;
                byte[] out = new byte[a.length];
                for (int i = 0; i < a.length; i++) out[i] = (byte) (a[i] ? 1 : 0);
                return out;
            }
            case "int8":
            case "uint8":
                expect(data, byte[].class, dtype);
                return ((byte[]) data).clone();
            case "int16":
            case "uint16": {
                expect(data, short[].class, dtype);
                short[] a = (short[]) data;
                ByteBuffer bb = ByteBuffer.allocate(a.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                bb.asShortBuffer().put(a);
                return bb.array();
            }
            case "float16": {
                expect(data, short[].class, dtype);
                short[] a = (short[]) data;
                ByteBuffer bb = ByteBuffer.allocate(a.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (short s : a) {
                    boolean nan = (s & 0x7c00) == 0x7c00 && (s & 0x03ff) != 0;
                    bb.putShort(nan ? (short) 0x7e00 : s);
                }
                return bb.array();
            }
            case "int32":
            case "uint32": {
                expect(data, int[].class, dtype);
                int[] a = (int[]) data;
                ByteBuffer bb = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                bb.asIntBuffer().put(a);
                return bb.array();
            }
            case "int64":
            case "uint64": {
                expect(data, long[].class, dtype);
                long[] a = (long[]) data;
                ByteBuffer bb = ByteBuffer.allocate(a.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                bb.asLongBuffer().put(a);
                return bb.array();
            }
            case "float32":
            case "complex64": {
                expect(data, float[].class, dtype);
                float[] a = (float[]) data;
                ByteBuffer bb = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : a) bb.putInt(Float.isNaN(f) ? 0x7fc00000 : Float.floatToRawIntBits(f));
                return bb.array();
            }
            case "float64":
            case "complex128": {
                expect(data, double[].class, dtype);
                double[] a = (double[]) data;
                ByteBuffer bb = ByteBuffer.allocate(a.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                for (double d : a) bb.putLong(Double.isNaN(d) ? 0x7ff8000000000000L : Double.doubleToRawLongBits(d));
                return bb.array();
            }
            default:
                throw new IllegalStateException("adapter: no canonical form for dtype " + dtype);
        }
    }

    // --- fill values -------------------------------------------------------------------

    private static JsonNode floatJson(double d) {
        if (Double.isNaN(d)) return F.textNode("NaN");
        if (Double.isInfinite(d)) return F.textNode(d > 0 ? "Infinity" : "-Infinity");
        return F.numberNode(d);
    }

    /** The protocol's JSON form of a fill value the library parsed (a Java boxed value). */
    public static JsonNode fillToJson(Object v, String dtype) {
        if (v == null) return F.nullNode();
        if (dtype.equals("bool")) {
            if (v instanceof Boolean b) return F.booleanNode(b);
            return F.booleanNode(((Number) v).longValue() != 0);
        }
        if (dtype.startsWith("int") || dtype.startsWith("uint")) {
            if (v instanceof Boolean b) return F.numberNode(b ? 1 : 0);
            if (v instanceof BigInteger bi) return F.numberNode(bi);
            long x = ((Number) v).longValue();
            return switch (dtype) {
                // Java has no unsigned types: the library keeps the bits in the signed type.
                case "uint8" -> F.numberNode(x & 0xffL);
                case "uint16" -> F.numberNode(x & 0xffffL);
                case "uint32" -> F.numberNode(x & 0xffffffffL);
                case "uint64" -> F.numberNode(x < 0 ? BigInteger.valueOf(x).add(U64) : BigInteger.valueOf(x));
                default -> F.numberNode(x);
            };
        }
        if (dtype.startsWith("float")) {
            return floatJson(((Number) v).doubleValue());
        }
        return F.textNode(String.valueOf(v));
    }

    /** A Java value for a JSON fill value of the case: Boolean, Long/BigInteger or Double. */
    public static Object fillFromJson(JsonNode node, String dtype) {
        if (node == null || node.isNull()) return null;
        if (dtype.equals("bool")) return node.asBoolean();
        if (dtype.startsWith("int") || dtype.startsWith("uint")) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        if (dtype.startsWith("float")) {
            if (node.isTextual()) {
                return switch (node.asText()) {
                    case "NaN" -> Double.NaN;
                    case "Infinity" -> Double.POSITIVE_INFINITY;
                    case "-Infinity" -> Double.NEGATIVE_INFINITY;
                    default -> throw new IllegalArgumentException("bad float fill value " + node);
                };
            }
            return node.doubleValue();
        }
        throw new IllegalArgumentException("no Java fill value for dtype " + dtype);
    }

    /** Chunk-grid indices of an array, in C order. */
    public static java.util.List<int[]> chunkIndices(int[] shape, int[] chunks) {
        int nd = shape.length;
        int[] grid = new int[nd];
        for (int i = 0; i < nd; i++) grid[i] = chunks[i] == 0 ? 0 : (shape[i] + chunks[i] - 1) / chunks[i];
        java.util.List<int[]> out = new java.util.ArrayList<>();
        int total = 1;
        for (int g : grid) total *= g;
        for (int k = 0; k < total; k++) {
            int[] idx = new int[nd];
            int r = k;
            for (int d = nd - 1; d >= 0; d--) {
                idx[d] = r % grid[d];
                r /= grid[d];
            }
            out.add(idx);
        }
        return out;
    }

    public static java.util.Set<java.util.List<Integer>> missingChunks(JsonNode kase) {
        java.util.Set<java.util.List<Integer>> out = new java.util.HashSet<>();
        for (JsonNode c : kase.path("missing_chunks")) {
            java.util.List<Integer> idx = new java.util.ArrayList<>();
            for (JsonNode i : c) idx.add(i.intValue());
            out.add(idx);
        }
        return out;
    }

    public static java.util.List<Integer> asList(int[] a) {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (int x : a) out.add(x);
        return out;
    }
}
