package zc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.jsontype.NamedType;
import dev.zarr.zarrjava.core.Attributes;
import dev.zarr.zarrjava.core.chunkkeyencoding.Separator;
import dev.zarr.zarrjava.store.FilesystemStore;
import dev.zarr.zarrjava.store.HttpStore;
import dev.zarr.zarrjava.store.S3Store;
import dev.zarr.zarrjava.store.Store;
import dev.zarr.zarrjava.store.StoreHandle;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.s3.S3Client;

import java.net.URI;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * zarr-java (dev.zarr:zarr-java): reads and writes zarr v2 and v3 (sharding included);
 * stores: local directory, S3 (its S3Store over the AWS SDK v2) and HTTP (its HttpStore).
 * No N5.
 *
 * Writing (to a local directory, or to S3 through S3Store in the native write mode) uses the
 * library's own classes as a user would: v3 through
 * Array.metadataBuilder() with the case's codec chain handed to the library's JSON
 * mapper (so the chain, sharding configuration and index codecs are exactly the case's,
 * parsed by zarr-java itself); v2 through the v2 ArrayMetadata constructor (the v2
 * builder has no filters setter). Data types or codecs the library does not register
 * are answered "unsupported". Chunks listed as missing are left out by writing region
 * by region; zarr-java itself also drops chunks equal to the fill value.
 */
public final class ZarrJavaBackend implements Backend {

    private final Map<String, S3Client> s3Clients = new HashMap<>();

    @Override
    public String impl() {
        return "zarr-java";
    }

    @Override
    public String version() {
        // Read at run time from the zarr-java jar's own Maven metadata.
        String v = Versions.maven("dev.zarr", "zarr-java");
        return v == null ? "unknown" : v;
    }

    @Override
    public Map<String, String> components() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("java", System.getProperty("java.version"));
        put(out, "jackson-databind", Versions.maven("com.fasterxml.jackson.core", "jackson-databind"));
        put(out, "blosc-java", Versions.maven("com.scalableminds", "blosc-java"));
        put(out, "zstd-jni", Versions.constant("com.github.luben.zstd.util.ZstdVersion", "VERSION"));
        put(out, "awssdk-s3", Versions.maven("software.amazon.awssdk", "s3"));
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

    static String[] keys(String path) {
        return Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toArray(String[]::new);
    }

    // --- stores ----------------------------------------------------------------------

    static String joinUrl(String base, String... parts) {
        StringBuilder sb = new StringBuilder(base.replaceAll("/+$", ""));
        for (String p : parts) {
            String q = p.replaceAll("^/+|/+$", "");
            if (!q.isEmpty()) sb.append('/').append(q);
        }
        return sb.toString();
    }

    Store store(JsonNode target) throws Unsupported {
        String kind = target.path("kind").asText();
        switch (kind) {
            case "local":
                return new FilesystemStore(Paths.get(target.get("path").asText()));
            case "s3": {
                String key = target.path("key").asText("").replaceAll("^/+|/+$", "");
                return new S3Store(s3Client(target), target.get("bucket").asText(), key.isEmpty() ? null : key);
            }
            case "http":
                return new HttpStore(target.get("url").asText());
            // zarr-java has no GCS or Azure Blob store: its HttpStore reads the objects' HTTP URLs
            // (GCS's XML API endpoint/bucket/key; Azure's endpoint/container/blob), unsigned. That
            // reads public data; GCS here checks no credentials, Azure does, so signed Azure is out.
            case "gcs":
                return new HttpStore(joinUrl(target.path("endpoint").asText(), target.path("bucket").asText(),
                        target.path("prefix").asText("")));
            case "azure":
                if (!target.path("anonymous").asBoolean(false)) {
                    throw new Unsupported("zarr-java has no Azure Blob store: its HttpStore cannot sign requests "
                            + "with the account key (Shared Key), so only public containers can be read");
                }
                return new HttpStore(joinUrl(target.path("endpoint").asText(), target.path("container").asText(),
                        target.path("prefix").asText("")));
            default:
                throw new Unsupported("store kind '" + kind + "' is not known to this adapter");
        }
    }

    /** An S3 client for a path-style endpoint, signed with the given keys or unsigned (anonymous). */
    synchronized S3Client s3Client(JsonNode t) {
        boolean anonymous = t.path("anonymous").asBoolean(false);
        String endpoint = t.get("endpoint").asText();
        String region = t.path("region").asText("");
        String ak = t.path("access_key_id").asText("");
        String sk = t.path("secret_access_key").asText("");
        String cacheKey = String.join("\n", endpoint, region, String.valueOf(anonymous), ak, sk);
        return s3Clients.computeIfAbsent(cacheKey, k -> {
            AwsCredentialsProvider creds = anonymous ? AnonymousCredentialsProvider.create()
                    : StaticCredentialsProvider.create(AwsBasicCredentials.create(ak, sk));
            return S3Client.builder()
                    .endpointOverride(URI.create(endpoint))
                    .region(software.amazon.awssdk.regions.Region.of(region.isEmpty() ? "us-east-1" : region))
                    .forcePathStyle(true)
                    .credentialsProvider(creds)
                    .build();
        });
    }

    // --- read ------------------------------------------------------------------------

    @Override
    public ReadResult read(JsonNode target, String path, String format, Region region) throws Exception {
        if ("n5".equals(format)) {
            throw new Unsupported("zarr-java has no N5 support");
        }
        StoreHandle handle = store(target).resolve(keys(path));
        dev.zarr.zarrjava.core.Array arr;
        if ("zarr2".equals(format)) {
            arr = dev.zarr.zarrjava.v2.Array.open(handle);
        } else if ("zarr3".equals(format)) {
            arr = dev.zarr.zarrjava.v3.Array.open(handle);
        } else if (format == null) {
            arr = dev.zarr.zarrjava.core.Array.open(handle);
        } else {
            throw new Unsupported("format '" + format + "' is not known to this adapter");
        }
        dev.zarr.zarrjava.core.ArrayMetadata md = arr.metadata();
        if (region != null) region.check(md.shape);
        long[] shape;
        Object flat;
        if (region == null || region.rank() == 0) {
            ucar.ma2.Array data = arr.read();
            shape = Arrays.stream(data.getShape()).asLongStream().toArray();
            flat = data.copyTo1DJavaArray();
        } else {
            // Array.read(offset, shape) reads the chunks (and the inner chunks of shards) the box
            // touches. It has no strides: it reads the region's bounding box, and keepSteps keeps
            // every step-th element of it.
            flat = region.keepSteps(arr.read(region.offset(), region.boxShape()).copyTo1DJavaArray());
            shape = region.shape();
        }
        String dtype = ((Enum<?>) md.dataType()).name().toLowerCase();
        Map<String, Object> attrs;
        if (md instanceof dev.zarr.zarrjava.v3.ArrayMetadata m3) {
            attrs = m3.attributes;
        } else {
            attrs = ((dev.zarr.zarrjava.v2.ArrayMetadata) md).attributes;
        }
        return new ReadResult(shape, dtype, flat,
                Canonical.fillToJson(md.parsedFillValue(), dtype), attrs);
    }

    // --- write -----------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    static Map<String, Object> attributes(JsonNode node) {
        if (node == null || node.isNull()) return new LinkedHashMap<>();
        return Protocol.JSON.convertValue(node, LinkedHashMap.class);
    }

    /**
     * Groups to create: the case's, plus every ancestor of the array, parents first. A root
     * array (path "") has no group above it: the dataset root is the array itself.
     */
    static Map<String, JsonNode> groups(JsonNode kase) {
        Map<String, JsonNode> groups = new LinkedHashMap<>();
        kase.path("groups").fields().forEachRemaining(e -> groups.put(e.getKey(), e.getValue()));
        String path = kase.get("path").asText();
        if (path.isEmpty()) {
            groups.remove("");
            return groups;
        }
        String[] parts = path.split("/");
        for (int i = 1; i < parts.length; i++) {
            groups.putIfAbsent(String.join("/", Arrays.copyOfRange(parts, 0, i)), null);
        }
        groups.putIfAbsent("", null);
        List<String> order = new ArrayList<>(groups.keySet());
        order.sort((a, b) -> {
            int da = a.isEmpty() ? 0 : a.split("/").length, db = b.isEmpty() ? 0 : b.split("/").length;
            return da != db ? Integer.compare(da, db) : a.compareTo(b);
        });
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (String g : order) out.put(g, groups.get(g));
        return out;
    }

    static Set<String> registered(NamedType[] types) {
        Set<String> out = new TreeSet<>();
        for (NamedType t : types) out.add(t.getName());
        return out;
    }

    /** Names of every codec of a v3 chain, nested sharding chains and index codecs included. */
    static void codecNames(JsonNode codecs, List<String> out) {
        for (JsonNode c : codecs) {
            out.add(c.path("name").asText());
            JsonNode conf = c.path("configuration");
            if (conf.has("codecs")) codecNames(conf.get("codecs"), out);
            if (conf.has("index_codecs")) codecNames(conf.get("index_codecs"), out);
        }
    }

    @Override
    public void write(JsonNode kase, Object data, JsonNode target) throws Exception {
        String fmt = kase.get("format").asText();
        if (fmt.equals("n5")) {
            throw new Unsupported("zarr-java has no N5 support");
        }
        String kind = target.path("kind").asText();
        if (!"local".equals(kind) && !"s3".equals(kind)) {
            // HttpStore is read-only (its set() throws "Not implemented").
            throw new Unsupported("zarr-java writes to a local directory or S3, not to a " + kind + " store");
        }
        String dtype = kase.get("dtype").asText();
        long[] shape = Canonical.longArray(kase.get("shape"));
        int[] chunks = Canonical.intArray(kase.get("chunks"));
        Object fill = Canonical.isNumeric(dtype) && !dtype.startsWith("complex") && !dtype.equals("float16")
                ? Canonical.fillFromJson(kase.get("fill_value"), dtype) : null;
        // The native write mode hands an S3 target: zarr-java writes through its own S3Store.
        StoreHandle root = store(target).resolve();

        dev.zarr.zarrjava.core.Array arr;
        ucar.ma2.DataType ma2Type;
        if (fmt.equals("zarr3")) {
            dev.zarr.zarrjava.v3.DataType dt = v3DataType(dtype);
            ma2Type = dt.getMA2DataType();
            ObjectMapper mapper = dev.zarr.zarrjava.v3.Node.makeObjectMapper();
            List<String> names = new ArrayList<>();
            codecNames(kase.get("codecs"), names);
            Set<String> known = registered(dev.zarr.zarrjava.v3.codec.CodecRegistry.getNamedTypes());
            for (String n : names) {
                if (!known.contains(n)) {
                    throw new Unsupported("zarr-java has no v3 codec '" + n + "' (it registers " + known + ")");
                }
            }
            dev.zarr.zarrjava.v3.codec.Codec[] codecs =
                    mapper.convertValue(kase.get("codecs"), dev.zarr.zarrjava.v3.codec.Codec[].class);
            for (Map.Entry<String, JsonNode> g : groups(kase).entrySet()) {
                dev.zarr.zarrjava.v3.Group.create(root.resolve(keys(g.getKey())), new Attributes(attributes(g.getValue())));
            }
            var b = dev.zarr.zarrjava.v3.Array.metadataBuilder()
                    .withShape(shape)
                    .withDataType(dt)
                    .withChunkShape(chunks)
                    .withFillValue(fill)
                    .withCodecs(codecs)
                    .withAttributes(new Attributes(attributes(kase.get("attributes"))));
            JsonNode cke = kase.path("chunk_key_encoding");
            if (!cke.isMissingNode() && !cke.isNull()) {
                Separator sep = separator(cke.path("configuration").path("separator").asText("/"));
                switch (cke.path("name").asText()) {
                    case "default" -> b.withDefaultChunkKeyEncoding(sep);
                    case "v2" -> b.withV2ChunkKeyEncoding(sep);
                    default -> throw new Unsupported("zarr-java has no chunk key encoding '" + cke.path("name").asText() + "'");
                }
            }
            JsonNode dims = kase.path("dimension_names");
            if (dims.isArray()) {
                String[] names2 = new String[dims.size()];
                for (int i = 0; i < names2.length; i++) names2[i] = dims.get(i).isNull() ? null : dims.get(i).asText();
                b.withDimensionNames(names2);
            }
            arr = dev.zarr.zarrjava.v3.Array.create(root.resolve(keys(kase.get("path").asText())), b.build());
        } else if (fmt.equals("zarr2")) {
            dev.zarr.zarrjava.v2.DataType dt = v2DataType(dtype);
            ma2Type = dt.getMA2DataType();
            ObjectMapper mapper = dev.zarr.zarrjava.v2.Node.makeObjectMapper();
            Set<String> known = registered(dev.zarr.zarrjava.v2.codec.CodecRegistry.getNamedTypes());
            JsonNode comp = kase.path("compressor");
            dev.zarr.zarrjava.v2.codec.Codec compressor = null;
            if (comp.isObject()) {
                String id = comp.path("id").asText();
                if (!known.contains(id)) {
                    throw new Unsupported("zarr-java has no v2 compressor '" + id + "' (it registers " + known + ")");
                }
                compressor = mapper.convertValue(comp, dev.zarr.zarrjava.v2.codec.Codec.class);
            }
            dev.zarr.zarrjava.v2.codec.Codec[] filters = null;
            JsonNode flt = kase.path("filters");
            if (flt.isArray() && flt.size() > 0) {
                for (JsonNode f : flt) {
                    String id = f.path("id").asText();
                    if (!known.contains(id)) {
                        throw new Unsupported("zarr-java has no v2 filter '" + id + "' (it registers " + known + ")");
                    }
                }
                filters = mapper.convertValue(flt, dev.zarr.zarrjava.v2.codec.Codec[].class);
            }
            for (Map.Entry<String, JsonNode> g : groups(kase).entrySet()) {
                dev.zarr.zarrjava.v2.Group.create(root.resolve(keys(g.getKey())), new Attributes(attributes(g.getValue())));
            }
            var md = new dev.zarr.zarrjava.v2.ArrayMetadata(2, shape, chunks, dt, fill,
                    dev.zarr.zarrjava.v2.Order.valueOf(kase.path("order").asText("C")), filters, compressor,
                    separator(kase.path("dimension_separator").asText(".")),
                    new Attributes(attributes(kase.get("attributes"))));
            arr = dev.zarr.zarrjava.v2.Array.create(root.resolve(keys(kase.get("path").asText())), md);
        } else {
            throw new Unsupported("format '" + fmt + "' is not known to this adapter");
        }

        int[] ishape = Canonical.intArray(kase.get("shape"));
        ucar.ma2.Array whole = ucar.ma2.Array.factory(ma2Type, ishape, data);
        Set<List<Integer>> missing = Canonical.missingChunks(kase);
        if (missing.isEmpty()) {
            arr.write(whole);
            return;
        }
        for (int[] idx : Canonical.chunkIndices(ishape, chunks)) {
            if (missing.contains(Canonical.asList(idx))) continue;
            int[] origin = new int[idx.length];
            int[] size = new int[idx.length];
            long[] offset = new long[idx.length];
            for (int d = 0; d < idx.length; d++) {
                origin[d] = idx[d] * chunks[d];
                size[d] = Math.min(chunks[d], ishape[d] - origin[d]);
                offset[d] = origin[d];
            }
            arr.write(offset, whole.sectionNoReduce(origin, size, null));
        }
    }

    static Separator separator(String s) throws Unsupported {
        return switch (s) {
            case "/" -> Separator.SLASH;
            case "." -> Separator.DOT;
            default -> throw new Unsupported("zarr-java has no separator '" + s + "'");
        };
    }

    static dev.zarr.zarrjava.v3.DataType v3DataType(String dtype) throws Unsupported {
        for (var t : dev.zarr.zarrjava.v3.DataType.values()) {
            if (t.getValue().equals(dtype)) return t;
        }
        throw new Unsupported("zarr-java has no v3 data type '" + dtype + "' (it has "
                + Arrays.toString(Arrays.stream(dev.zarr.zarrjava.v3.DataType.values()).map(t -> t.getValue()).toArray()) + ")");
    }

    static dev.zarr.zarrjava.v2.DataType v2DataType(String dtype) throws Unsupported {
        for (var t : dev.zarr.zarrjava.v2.DataType.values()) {
            if (t.name().toLowerCase().equals(dtype)) return t;
        }
        throw new Unsupported("zarr-java has no v2 data type for '" + dtype + "' (it has "
                + Arrays.toString(Arrays.stream(dev.zarr.zarrjava.v2.DataType.values()).map(t -> t.getValue()).toArray()) + ")");
    }
}
