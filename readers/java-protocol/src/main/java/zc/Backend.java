package zc;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/** What a library backend provides: its identity and how it writes a case and reads an array. */
public interface Backend {

    /** An array as read: its shape, canonical dtype, flat C-order data (see Canonical), fill value JSON, attributes. */
    record ReadResult(long[] shape, String dtype, Object data, JsonNode fillValue, Map<String, Object> attributes) {
    }

    String impl();

    /** The library's real version, read at run time. */
    String version();

    Map<String, String> components();

    List<String> verbs();

    void write(JsonNode kase, Object data, JsonNode target) throws Exception;

    ReadResult read(JsonNode target, String path, String format) throws Exception;
}
