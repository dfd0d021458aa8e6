package zc;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Canonical (java-protocol) on the committed vectors, canonical/vectors/vectors.json: canonical
 * bytes and hashes of arrays in the in-memory form the Java libraries return (flat C-order
 * primitive arrays, as ucar.ma2's copyTo1DJavaArray and JZarr's read give them), reference data
 * decoded with its NaN payloads kept, and fill values both ways (fillToJson as Protocol writes
 * it, fillFromJson) in the boxed types zarr-java and JZarr report.
 *
 * Run with an adapter jar on the class path (Jackson comes from it):
 * {@code java -cp ADAPTER.jar:CLASSES zc.CanonicalVectors VECTORS.json [REPORT]}. One line per
 * vector ("ok|skip|FAIL array|fill NAME[: why]") goes to REPORT (or stdout); the exit status
 * is 1 when a vector failed.
 */
public final class CanonicalVectors {
    private static final HexFormat HEX = HexFormat.of();
    private static final BigInteger U64 = BigInteger.ONE.shiftLeft(64);
    private final PrintStream out;
    private int failed;

    private CanonicalVectors(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        JsonNode doc = Protocol.JSON.readTree(Files.readString(Path.of(args[0]), StandardCharsets.UTF_8));
        PrintStream out = args.length > 1 ? new PrintStream(args[1], StandardCharsets.UTF_8) : System.out;
        CanonicalVectors t = new CanonicalVectors(out);
        for (JsonNode v : doc.get("arrays")) t.run("array", v, () -> t.array(v));
        for (JsonNode v : doc.get("fill_values")) t.run("fill", v, () -> t.fill(v));
        out.flush();
        System.exit(t.failed == 0 ? 0 : 1);
    }

    interface Check {
        String run() throws Exception;  // null when passed, else why it was skipped
    }

    private void run(String kind, JsonNode v, Check c) {
        String name = v.get("name").asText();
        try {
            String skip = c.run();
            out.println(skip == null ? "ok " + kind + " " + name : "skip " + kind + " " + name + ": " + skip);
        } catch (Throwable e) {
            failed++;
            out.println("FAIL " + kind + " " + name + ": " + String.valueOf(e.getMessage()).replace('\n', ' '));
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    private static ByteBuffer le(byte[] raw) {
        return ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    }

    // --- arrays ----------------------------------------------------------------------

    /** Elements as the libraries hold them: a flat primitive array per dtype (unsigned bits in the signed type). */
    static Object library(byte[] raw, String dtype) {
        ByteBuffer bb = le(raw);
        switch (dtype) {
            case "bool": {
                boolean[] a = new boolean[raw.length];
                for (int i = 0; i < a.length; i++) a[i] = raw[i] != 0;
                return a;
            }
            case "int8": case "uint8":
                return raw.clone();
            case "int16": case "uint16": case "float16": {
                short[] a = new short[raw.length / 2];
                for (int i = 0; i < a.length; i++) a[i] = bb.getShort();
                return a;
            }
            case "int32": case "uint32": {
                int[] a = new int[raw.length / 4];
                for (int i = 0; i < a.length; i++) a[i] = bb.getInt();
                return a;
            }
            case "int64": case "uint64": {
                long[] a = new long[raw.length / 8];
                for (int i = 0; i < a.length; i++) a[i] = bb.getLong();
                return a;
            }
            case "float32": case "complex64": {
                float[] a = new float[raw.length / 4];
                for (int i = 0; i < a.length; i++) a[i] = Float.intBitsToFloat(bb.getInt());
                return a;
            }
            case "float64": case "complex128": {
                double[] a = new double[raw.length / 8];
                for (int i = 0; i < a.length; i++) a[i] = Double.longBitsToDouble(bb.getLong());
                return a;
            }
            default:
                return null;
        }
    }

    /** The raw bits of a primitive array, little-endian (to see what Canonical.decode kept). */
    static byte[] rawBits(Object a) {
        if (a instanceof boolean[] b) {
            byte[] out = new byte[b.length];
            for (int i = 0; i < b.length; i++) out[i] = (byte) (b[i] ? 1 : 0);
            return out;
        }
        if (a instanceof byte[] b) return b.clone();
        if (a instanceof short[] s) {
            ByteBuffer bb = ByteBuffer.allocate(2 * s.length).order(ByteOrder.LITTLE_ENDIAN);
            for (short x : s) bb.putShort(x);
            return bb.array();
        }
        if (a instanceof int[] s) {
            ByteBuffer bb = ByteBuffer.allocate(4 * s.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int x : s) bb.putInt(x);
            return bb.array();
        }
        if (a instanceof long[] s) {
            ByteBuffer bb = ByteBuffer.allocate(8 * s.length).order(ByteOrder.LITTLE_ENDIAN);
            for (long x : s) bb.putLong(x);
            return bb.array();
        }
        if (a instanceof float[] s) {
            ByteBuffer bb = ByteBuffer.allocate(4 * s.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : s) bb.putInt(Float.floatToRawIntBits(x));
            return bb.array();
        }
        double[] s = (double[]) a;
        ByteBuffer bb = ByteBuffer.allocate(8 * s.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : s) bb.putLong(Double.doubleToRawLongBits(x));
        return bb.array();
    }

    private String array(JsonNode v) throws Exception {
        String dtype = v.get("dtype").asText();
        if (!Canonical.isNumeric(dtype)) {
            return "Java's canonical code has numeric dtypes only (zarr-java and JZarr have no text data types)";
        }
        byte[] raw = HEX.parseHex(v.get("input").get("hex").asText());
        String want = v.get("canonical").asText();
        int n = Canonical.size(Canonical.intArray(v.get("shape")));
        byte[] got = Canonical.bytes(library(raw, dtype), dtype);
        check(HEX.formatHex(got).equals(want), "canonical bytes " + HEX.formatHex(got) + ", expected " + want);
        check(("sha256:" + Protocol.sha256(got)).equals(v.get("hash").asText()), "hash");
        // Reference data (writers' input) keep every NaN payload when decoded.
        if (dtype.startsWith("float") || dtype.startsWith("complex")) {
            Object decoded = Canonical.decode(raw, dtype, n);
            check(HEX.formatHex(rawBits(decoded)).equals(HEX.formatHex(raw)), "Canonical.decode changed the element bits: "
                    + HEX.formatHex(rawBits(decoded)) + " from " + HEX.formatHex(raw));
        }
        return null;
    }

    // --- fill values -----------------------------------------------------------------

    /** The boxed values zarr-java (Byte/Short/Integer/Long/Float/Double by dtype) and JZarr (Number) report. */
    static List<Object> libraryFills(JsonNode value, String dtype) {
        List<Object> out = new ArrayList<>();
        if (value.isNull()) {
            out.add(null);
            return out;
        }
        ByteBuffer bb = le(HEX.parseHex(value.get("hex").asText()));
        switch (dtype) {
            case "bool" -> out.add(bb.get() != 0);
            case "int8", "uint8" -> {
                byte b = bb.get();
                out.add(b);
                out.add((long) (dtype.equals("uint8") ? b & 0xff : b));
            }
            case "int16", "uint16" -> {
                short s = bb.getShort();
                out.add(s);
                out.add((long) (dtype.equals("uint16") ? s & 0xffff : s));
            }
            case "int32", "uint32" -> {
                int i = bb.getInt();
                out.add(i);
                out.add(dtype.equals("uint32") ? i & 0xffffffffL : (long) i);
            }
            case "int64" -> out.add(bb.getLong());
            case "uint64" -> {
                long l = bb.getLong();
                out.add(l);
                out.add(l < 0 ? BigInteger.valueOf(l).add(U64) : BigInteger.valueOf(l));
            }
            case "float32" -> {
                float f = Float.intBitsToFloat(bb.getInt());
                out.add(f);
                out.add((double) f);
            }
            case "float64" -> out.add(Double.longBitsToDouble(bb.getLong()));
            default -> throw new IllegalArgumentException(dtype);
        }
        return out;
    }

    /** Equal as protocol JSON: floats by value with the sign of zero, integers exactly. */
    static boolean sameJson(JsonNode got, JsonNode want, boolean floats) {
        if (want.isNull() || want.isBoolean() || want.isTextual()) return got.equals(want);
        if (want.isArray()) {
            if (!got.isArray() || got.size() != want.size()) return false;
            for (int i = 0; i < want.size(); i++) if (!sameJson(got.get(i), want.get(i), floats)) return false;
            return true;
        }
        if (!got.isNumber()) return false;
        if (floats) {
            return Double.doubleToRawLongBits(got.doubleValue()) == Double.doubleToRawLongBits(want.doubleValue());
        }
        return got.isIntegralNumber() && got.bigIntegerValue().equals(want.bigIntegerValue());
    }

    private static BigInteger intOf(byte[] raw, String dtype) {
        BigInteger x = new BigInteger(1, reversed(raw));
        boolean signed = !dtype.startsWith("u");
        if (signed && raw[raw.length - 1] < 0) x = x.subtract(BigInteger.ONE.shiftLeft(8 * raw.length));
        return x;
    }

    private static byte[] reversed(byte[] b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[b.length - 1 - i];
        return out;
    }

    private static void checkDecoded(Object got, JsonNode decoded, String dtype) {
        if (decoded.isNull()) {
            check(got == null, "decodes to " + got + ", expected null");
            return;
        }
        byte[] want = HEX.parseHex(decoded.get("hex").asText());
        switch (dtype) {
            case "bool" -> check(Boolean.valueOf(want[0] != 0).equals(got), "decoded " + got);
            case "float32" -> {
                float f = ((Number) got).floatValue();  // what a library stores for the Double
                float w = le(want).getFloat();
                check(Float.isNaN(w) ? Float.isNaN(f) : Float.floatToRawIntBits(f) == Float.floatToRawIntBits(w),
                        "decoded " + got);
            }
            case "float64" -> {
                double d = ((Number) got).doubleValue();
                double w = le(want).getDouble();
                check(Double.isNaN(w) ? Double.isNaN(d) : Double.doubleToRawLongBits(d) == Double.doubleToRawLongBits(w),
                        "decoded " + got);
            }
            default -> {
                BigInteger g = got instanceof BigInteger b ? b : BigInteger.valueOf(((Number) got).longValue());
                check(g.equals(intOf(want, dtype)), "decoded " + got + ", expected " + intOf(want, dtype));
            }
        }
    }

    private String fill(JsonNode v) throws Exception {
        String dtype = v.get("dtype").asText();
        if (!Canonical.isNumeric(dtype) || dtype.startsWith("complex") || dtype.equals("float16")) {
            return "Java's canonical code has no " + dtype + " fill values (zarr-java and JZarr have no such data type)";
        }
        boolean floats = dtype.startsWith("float");
        // A decode-only spelling: the value it decodes to is written as canonical_json.
        boolean decodeOnly = v.path("decode_only").asBoolean(false);
        JsonNode value = v.get(decodeOnly ? "decoded" : "value");
        JsonNode want = v.get(decodeOnly ? "canonical_json" : "json");
        for (Object x : libraryFills(value, dtype)) {
            String text = Protocol.JSON.writeValueAsString(Canonical.fillToJson(x, dtype));
            check(sameJson(Protocol.JSON.readTree(text), want, floats), "fillToJson("
                    + (x == null ? "null" : x.getClass().getSimpleName() + " " + x) + ") wrote " + text
                    + ", expected " + want);
        }
        checkDecoded(Canonical.fillFromJson(v.get("json"), dtype), v.get("decoded"), dtype);
        return null;
    }
}
