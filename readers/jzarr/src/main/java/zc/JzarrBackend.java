package zc;

import com.bc.zarr.ArrayParams;
import com.bc.zarr.Compressor;
import com.bc.zarr.CompressorFactory;
import com.bc.zarr.DataType;
import com.bc.zarr.DimensionSeparator;
import com.bc.zarr.ZarrArray;
import com.bc.zarr.ZarrGroup;
import com.bc.zarr.storage.FileSystemStore;
import com.fasterxml.jackson.databind.JsonNode;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JZarr (dev.zarr:jzarr): zarr v2 only, through its FileSystemStore on a local directory
 * (S3: see root()). Data types: the nine JZarr has (f8 f4 i8 i4 u4 i2 u2 i1 u1);
 * compressors: zlib and blosc (blosc through the system's libblosc); no filters; it
 * always writes order "C". What it cannot express is answered "unsupported".
 *
 * Writing uses ZarrGroup.create / createSubGroup / createArray with ArrayParams as a
 * user would, the compressor from CompressorFactory.create(the case's compressor
 * config). The byte order is little-endian (the case's v2 dtypes are "<", as numpy
 * writes them; JZarr's own default would be big-endian). Chunks listed as missing are
 * left out by writing chunk by chunk.
 */
public final class JzarrBackend implements Backend {

    @Override
    public String impl() {
        return "jzarr";
    }

    @Override
    public String version() {
        // Read at run time from the jzarr jar's own Maven metadata.
        String v = Versions.maven("dev.zarr", "jzarr");
        return v == null ? "unknown" : v;
    }

    @Override
    public Map<String, String> components() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("java", System.getProperty("java.version"));
        put(out, "jackson-databind", Versions.maven("com.fasterxml.jackson.core", "jackson-databind"));
        put(out, "jblosc", Versions.maven("org.lasersonlab", "jblosc"));
        put(out, "jna", Versions.constant("com.sun.jna.Version", "VERSION"));
        // ucar.ma2 comes from a Gradle-built jar without Maven metadata: its version is baked in at build time.
        put(out, "ucar.ma2 (org.lasersonlab.thredds:cdm)", Versions.build("cdm.version"));
        return out;
    }

    private static void put(Map<String, String> m, String k, String v) {
        if (v != null) m.put(k, v);
    }

    @Override
    public List<String> verbs() {
        return List.of("read", "write");
    }

    static final Map<String, DataType> DTYPES = Map.of(
            "float64", DataType.f8, "float32", DataType.f4, "int64", DataType.i8, "int32", DataType.i4,
            "uint32", DataType.u4, "int16", DataType.i2, "uint16", DataType.u2, "int8", DataType.i1,
            "uint8", DataType.u1);

    static String dtypeName(DataType t) {
        for (Map.Entry<String, DataType> e : DTYPES.entrySet()) {
            if (e.getValue() == t) return e.getKey();
        }
        throw new IllegalStateException("adapter: no canonical name for JZarr data type " + t);
    }

    /**
     * The dataset root as a java.nio Path (JZarr's FileSystemStore). Only local directories:
     * JZarr has no S3 or HTTP store of its own. Tried: the S3 java.nio provider its tests use
     * (org.lasersonlab:s3fs 2.2.3, AWS SDK v1) with a path-style endpoint; every read failed
     * in s3fs's access check (Files.isReadable -> ACL check) against moto with
     * "NullPointerException: Cannot invoke "com.amazonaws.services.s3.model.Owner.getId()"
     * because "this.owner" is null", so S3 is answered unsupported.
     */
    Path root(JsonNode target) throws Unsupported {
        String kind = target.path("kind").asText();
        if (kind.equals("local")) {
            return Paths.get(target.get("path").asText());
        }
        throw new Unsupported("JZarr has no " + kind + " store (it reads java.nio paths through FileSystemStore;"
                + " this adapter gives it local directories only)");
    }

    // --- read ------------------------------------------------------------------------

    @Override
    public ReadResult read(JsonNode target, String path, String format, Region region) throws Exception {
        if (format != null && !format.equals("zarr2")) {
            throw new Unsupported("JZarr reads zarr v2 only (no " + format + ")");
        }
        Path root = root(target);
        ZarrArray arr = ZarrArray.open(path.isEmpty() ? root : root.resolve(path));
        if (region != null) region.check(arr.getShape());
        Object data;
        long[] shape;
        if (region == null || region.rank() == 0) {
            data = arr.read();
            shape = Arrays.stream(arr.getShape()).asLongStream().toArray();
        } else {
            // ZarrArray.read(shape, offset) reads the chunks the box touches. It has no strides: it
            // reads the region's bounding box, and keepSteps keeps every step-th element of it.
            data = region.keepSteps(arr.read(region.boxShape(), region.intOffset()));
            shape = region.shape();
        }
        String dtype = dtypeName(arr.getDataType());
        return new ReadResult(shape, dtype, data, Canonical.fillToJson(arr.getFillValue(), dtype), arr.getAttributes());
    }

    // --- write -----------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    static Map<String, Object> attributes(JsonNode node) {
        if (node == null || node.isNull()) return new LinkedHashMap<>();
        return Protocol.JSON.convertValue(node, LinkedHashMap.class);
    }

    /** Groups to create below the root: the case's plus every ancestor of the array, parents first. */
    static List<String> subGroups(JsonNode kase) {
        Set<String> names = new java.util.TreeSet<>();
        kase.path("groups").fieldNames().forEachRemaining(names::add);
        String[] parts = kase.get("path").asText().split("/");
        for (int i = 1; i < parts.length; i++) names.add(String.join("/", Arrays.copyOfRange(parts, 0, i)));
        names.remove("");
        List<String> out = new ArrayList<>(names);
        out.sort((a, b) -> a.split("/").length != b.split("/").length
                ? Integer.compare(a.split("/").length, b.split("/").length) : a.compareTo(b));
        return out;
    }

    @Override
    public void write(JsonNode kase, Object data, JsonNode target) throws Exception {
        String fmt = kase.get("format").asText();
        if (!fmt.equals("zarr2")) {
            throw new Unsupported("JZarr writes zarr v2 only (no " + fmt + ")");
        }
        if (!"local".equals(target.path("kind").asText())) {
            throw new Unsupported("this adapter writes to local stores only");
        }
        String dtype = kase.get("dtype").asText();
        DataType dt = DTYPES.get(dtype);
        if (dt == null) {
            throw new Unsupported("JZarr has no data type for '" + dtype + "' (it has " + Arrays.toString(DataType.values()) + ")");
        }
        String order = kase.path("order").asText("C");
        if (!order.equals("C")) {
            throw new Unsupported("JZarr has no order option: it always writes order \"C\"");
        }
        JsonNode flt = kase.path("filters");
        if (flt.isArray() && flt.size() > 0) {
            throw new Unsupported("JZarr has no filters (it writes \"filters\": null); the case has " + flt);
        }
        Compressor compressor = CompressorFactory.nullCompressor;
        JsonNode comp = kase.path("compressor");
        if (comp.isObject()) {
            String id = comp.path("id").asText();
            if (!id.equals("zlib") && !id.equals("blosc")) {
                throw new Unsupported("JZarr has no compressor '" + id + "' (it has zlib and blosc)");
            }
            compressor = CompressorFactory.create(attributes(comp));
        }
        String sep = kase.path("dimension_separator").asText(".");
        DimensionSeparator separator = sep.equals("/") ? DimensionSeparator.SLASH : DimensionSeparator.DOT;
        int[] shape = Canonical.intArray(kase.get("shape"));
        int[] chunks = Canonical.intArray(kase.get("chunks"));
        Object fill = Canonical.fillFromJson(kase.get("fill_value"), dtype);

        ArrayParams params = new ArrayParams()
                .shape(shape)
                .chunks(chunks)
                .dataType(dt)
                .byteOrder(ByteOrder.LITTLE_ENDIAN)
                .fillValue((Number) fill)
                .compressor(compressor)
                .dimensionSeparator(separator);

        Map<String, JsonNode> groupAttrs = new LinkedHashMap<>();
        kase.path("groups").fields().forEachRemaining(e -> groupAttrs.put(e.getKey(), e.getValue()));
        FileSystemStore store = new FileSystemStore(root(target));
        String path = kase.get("path").asText();
        ZarrArray arr;
        if (path.isEmpty()) {
            // A root array: the dataset root is the array itself, no group above it.
            arr = ZarrArray.create(store, params, attributes(kase.get("attributes")));
        } else {
            ZarrGroup root = ZarrGroup.create(store, attributes(groupAttrs.get("")));
            for (String g : subGroups(kase)) {
                root.createSubGroup(g, attributes(groupAttrs.get(g)));
            }
            arr = root.createArray(path, params, attributes(kase.get("attributes")));
        }

        Set<List<Integer>> missing = Canonical.missingChunks(kase);
        if (missing.isEmpty()) {
            arr.write(data, shape, new int[shape.length]);
            return;
        }
        ucar.ma2.Array whole = ucar.ma2.Array.factory(
                ucar.ma2.DataType.getType(data.getClass().getComponentType(), false), shape, data);
        for (int[] idx : Canonical.chunkIndices(shape, chunks)) {
            if (missing.contains(Canonical.asList(idx))) continue;
            int[] origin = new int[idx.length];
            int[] size = new int[idx.length];
            for (int d = 0; d < idx.length; d++) {
                origin[d] = idx[d] * chunks[d];
                size[d] = Math.min(chunks[d], shape[d] - origin[d]);
            }
            arr.write(whole.sectionNoReduce(origin, size, null).copyTo1DJavaArray(), size, origin);
        }
    }
}
