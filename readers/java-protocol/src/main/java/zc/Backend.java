package zc;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/** What a library backend provides: its identity and how it writes a case and reads an array. */
public interface Backend {

    /**
     * An array as read (or the region of it that was asked for): its shape, canonical dtype, flat C-order
     * data (see Canonical), fill value JSON, attributes.
     */
    record ReadResult(long[] shape, String dtype, Object data, JsonNode fillValue, Map<String, Object> attributes) {
    }

    String impl();

    /** The library's real version, read at run time. */
    String version();

    Map<String, String> components();

    List<String> verbs();

    void write(JsonNode kase, Object data, JsonNode target) throws Exception;

    /**
     * The array at path, whole when region is null, else only the region (in the protocol's view),
     * read through the library's own selection so that it fetches only the chunks the region touches.
     * A region that does not fit the array is a BadRequest (Region.check).
     */
    ReadResult read(JsonNode target, String path, String format, Region region) throws Exception;
}
