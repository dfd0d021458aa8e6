package zc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Protocols 1 and 2 (docs/protocol.md): a persistent JSON-lines loop on stdin/stdout and the
 * one-shot CLI. The backend only knows its library; decoding reference data, parsing a
 * region (Region), canonical bytes, hashing, dumps and "Type: message" errors live here.
 */
public final class Protocol {
    public static final int PROTOCOL = 2;  // 2: reads of a region

    /**
     * JSON with exact numbers: integers beyond 64 bits become BigInteger (Jackson does that by
     * itself), floats are doubles. The harness writes floats as Python float64 reprs, which a
     * double holds exactly; BigDecimal would not do better and would lose -0.0.
     */
    public static final ObjectMapper JSON = new ObjectMapper()
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private final Backend backend;

    public Protocol(Backend backend) {
        this.backend = backend;
    }

    // --- requests ------------------------------------------------------------------

    ObjectNode hello() {
        ObjectNode out = JSON.createObjectNode();
        out.put("ok", true);
        out.put("impl", backend.impl());
        out.put("version", backend.version());
        out.put("language", "java");
        var verbs = out.putArray("verbs");
        for (String v : backend.verbs()) verbs.add(v);
        out.put("protocol", PROTOCOL);
        out.set("components", JSON.valueToTree(backend.components()));
        return out;
    }

    ObjectNode write(JsonNode req) throws Exception {
        JsonNode kase = req.get("case");
        String dtype = kase.get("dtype").asText();
        int[] shape = Canonical.intArray(kase.get("shape"));
        byte[] raw = Files.readAllBytes(Paths.get(req.get("data").asText()));
        Object data = Canonical.decode(raw, dtype, Canonical.size(shape));
        backend.write(kase, data, req.get("target"));
        ObjectNode out = JSON.createObjectNode();
        out.put("status", "ok");
        return out;
    }

    ObjectNode read(JsonNode req) throws Exception {
        String path = req.hasNonNull("path") ? req.get("path").asText() : "";
        String format = req.hasNonNull("format") ? req.get("format").asText() : null;
        Region region = Region.parse(req.get("region"));
        long t0 = System.nanoTime();
        Backend.ReadResult r = backend.read(req.get("target"), path, format, region);
        double elapsed = (System.nanoTime() - t0) / 1e6;
        byte[] raw = Canonical.bytes(r.data(), r.dtype());
        if (req.hasNonNull("dump")) {
            Files.write(Paths.get(req.get("dump").asText()), raw);
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("status", "ok");
        var shape = out.putArray("shape");
        for (long s : r.shape()) shape.add(s);
        out.put("dtype", r.dtype());
        out.put("hash", "sha256:" + sha256(raw));
        out.set("fill_value", r.fillValue() == null ? JSON.nullNode() : r.fillValue());
        out.set("attributes", r.attributes() == null ? JSON.createObjectNode() : JSON.valueToTree(r.attributes()));
        out.put("elapsed_ms", Math.round(elapsed * 1000) / 1000.0);
        return out;
    }

    public ObjectNode handle(JsonNode req) {
        String op = req.hasNonNull("op") ? req.get("op").asText() : null;
        JsonNode id = req.has("id") ? req.get("id") : JSON.nullNode();
        ObjectNode resp;
        try {
            if ("hello".equals(op)) {
                return hello();
            }
            if (!"read".equals(op) && !"write".equals(op)) {
                return error(id, "error", "BadRequest: unknown op " + (op == null ? "null" : "'" + op + "'"));
            }
            if (!backend.verbs().contains(op)) {
                return error(id, "unsupported", "this adapter does not " + op);
            }
            String[] needed = "write".equals(op) ? new String[]{"case", "data", "target"} : new String[]{"target"};
            StringBuilder missing = new StringBuilder();
            for (String k : needed) {
                if (!req.hasNonNull(k)) missing.append(missing.length() > 0 ? ", " : "").append(k);
            }
            if (missing.length() > 0) {
                return error(id, "error", "BadRequest: missing " + missing);
            }
            resp = "write".equals(op) ? write(req) : read(req);
        } catch (Unsupported e) {
            return error(id, "unsupported", e.getMessage());
        } catch (BadRequest e) {
            return error(id, "error", "BadRequest: " + e.getMessage());
        } catch (Throwable e) {  // the library's own error, reported verbatim
            e.printStackTrace(System.err);
            return error(id, "error", errorText(e));
        }
        ObjectNode out = JSON.createObjectNode();
        out.set("id", id);
        out.setAll(resp);
        return out;
    }

    static ObjectNode error(JsonNode id, String status, String message) {
        ObjectNode out = JSON.createObjectNode();
        out.set("id", id);
        out.put("status", status);
        out.put("error", message);
        return out;
    }

    /** "Type: message" of the exception, unwrapping pure wrappers; causes are appended. */
    static String errorText(Throwable e) {
        e = unwrap(e);
        StringBuilder sb = new StringBuilder(one(e));
        Throwable c = e.getCause();
        int depth = 0;
        while (c != null && c != e && depth++ < 4) {
            Throwable u = unwrap(c);
            String part = one(u);
            if (!sb.toString().contains(part)) sb.append(" (caused by ").append(part).append(")");
            e = c;
            c = c.getCause();
        }
        return sb.toString();
    }

    private static Throwable unwrap(Throwable e) {
        while (e.getCause() != null && (e instanceof InvocationTargetException || e instanceof ExecutionException
                || e instanceof CompletionException
                || (e.getClass() == RuntimeException.class && (e.getMessage() == null
                    || e.getMessage().equals(e.getCause().toString()))))) {
            e = e.getCause();
        }
        return e;
    }

    private static String one(Throwable e) {
        String msg = e.getMessage();
        return (e.getClass().getSimpleName() + ": " + (msg == null ? "" : msg)).strip();
    }

    static String sha256(byte[] raw) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(raw));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // --- transport -------------------------------------------------------------------

    /** Serve requests until EOF or "bye". Nothing but responses goes to `out`. */
    public int serve(PrintStream out) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            line = line.strip();
            if (line.isEmpty()) continue;
            ObjectNode resp;
            try {
                JsonNode req = JSON.readTree(line);
                if (req == null || !req.isObject()) {
                    resp = error(JSON.nullNode(), "error", "BadRequest: a request is a JSON object");
                } else if ("bye".equals(req.path("op").asText(null))) {
                    return 0;
                } else {
                    resp = handle(req);
                }
            } catch (JsonProcessingException e) {
                resp = error(JSON.nullNode(), "error", "BadRequest: " + e.getOriginalMessage());
            }
            out.println(JSON.writeValueAsString(resp));
            out.flush();
        }
        return 0;
    }

    static JsonNode argJson(String text) throws IOException {
        if (text.startsWith("@")) {
            return JSON.readTree(Files.readAllBytes(Paths.get(text.substring(1))));
        }
        return JSON.readTree(text);
    }

    /** Entry point: no arguments or "serve" runs the loop; hello/read/write run one request. */
    public static int main(Backend backend, String[] args) throws IOException {
        // Protocol output only on the real stdout: anything a library prints goes to stderr.
        PrintStream realOut = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        Protocol p = new Protocol(backend);
        String cmd = args.length == 0 ? "serve" : args[0];
        if (cmd.equals("serve")) {
            return p.serve(realOut);
        }
        java.util.Map<String, String> opts = new java.util.HashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                System.err.println("usage: <adapter> [serve | hello | read --target-json J --path P --format F [--dump D] [--region-json R]"
                        + " | write --case-json J|@file --data F --target-json J]");
                return 2;
            }
            opts.put(args[i].substring(2), args[++i]);
        }
        ObjectNode req = JSON.createObjectNode();
        switch (cmd) {
            case "hello" -> req.put("op", "hello").put("protocol", PROTOCOL);
            case "read" -> {
                req.put("op", "read").put("id", "cli");
                req.set("target", argJson(opts.getOrDefault("target-json", "null")));
                req.put("path", opts.getOrDefault("path", ""));
                req.put("format", opts.get("format"));
                req.put("dump", opts.get("dump"));
                if (opts.containsKey("region-json")) req.set("region", argJson(opts.get("region-json")));
            }
            case "write" -> {
                req.put("op", "write").put("id", "cli");
                req.set("case", argJson(opts.getOrDefault("case-json", "null")));
                req.put("data", opts.get("data"));
                req.set("target", argJson(opts.getOrDefault("target-json", "null")));
            }
            default -> {
                System.err.println("unknown command " + cmd);
                return 2;
            }
        }
        ObjectNode resp = p.handle(req);
        realOut.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(resp));
        realOut.flush();
        return resp.path("ok").asBoolean(false) || "ok".equals(resp.path("status").asText()) ? 0 : 1;
    }
}
