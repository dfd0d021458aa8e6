package zc;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * A read's region (protocol 2): one [start, stop, step] per axis, as a Python slice
 * start:stop:step (0 <= start < stop <= shape[axis], step >= 1). {@link #parse} checks its form
 * when the request arrives, {@link #check} its fit once the backend has opened the array.
 *
 * A library without strided selection reads the bounding box ({@link #offset}, {@link #boxShape})
 * through its own API; {@link #keepSteps} then keeps every step-th element of what it returned.
 */
public final class Region {
    private final long[] start;
    private final long[] stop;
    private final long[] step;

    private Region(long[] start, long[] stop, long[] step) {
        this.start = start;
        this.stop = stop;
        this.step = step;
    }

    /** The request's region; null when absent or null (the whole array). */
    public static Region parse(JsonNode node) throws BadRequest {
        if (node == null || node.isNull() || node.isMissingNode()) return null;
        if (!node.isArray()) throw malformed(node);
        int n = node.size();
        long[] start = new long[n], stop = new long[n], step = new long[n];
        for (int d = 0; d < n; d++) {
            JsonNode axis = node.get(d);
            if (!axis.isArray() || axis.size() != 3) throw malformed(node);
            for (JsonNode v : axis) {
                if (!v.isIntegralNumber() || !v.canConvertToLong()) throw malformed(node);
            }
            start[d] = axis.get(0).longValue();
            stop[d] = axis.get(1).longValue();
            step[d] = axis.get(2).longValue();
            if (start[d] < 0 || start[d] >= stop[d] || step[d] < 1) throw malformed(node);
        }
        return new Region(start, stop, step);
    }

    private static BadRequest malformed(JsonNode node) {
        return new BadRequest("a region is a list of [start, stop, step] with 0 <= start < stop and step >= 1: " + node);
    }

    /** One triple per axis, each inside the array's shape. */
    public void check(long[] shape) throws BadRequest {
        boolean fits = shape.length == start.length;
        for (int d = 0; fits && d < shape.length; d++) fits = stop[d] <= shape[d];
        if (!fits) {
            throw new BadRequest("region " + this + " does not fit shape " + java.util.Arrays.toString(shape));
        }
    }

    public void check(int[] shape) throws BadRequest {
        check(java.util.Arrays.stream(shape).asLongStream().toArray());
    }

    public int rank() {
        return start.length;
    }

    /** The bounding box's origin: start per axis. */
    public long[] offset() {
        return start.clone();
    }

    public int[] intOffset() {
        int[] out = new int[start.length];
        for (int d = 0; d < out.length; d++) out[d] = Math.toIntExact(start[d]);
        return out;
    }

    /** The bounding box's shape: stop - start per axis (step 1). */
    public int[] boxShape() {
        int[] out = new int[start.length];
        for (int d = 0; d < out.length; d++) out[d] = Math.toIntExact(stop[d] - start[d]);
        return out;
    }

    /** The selection's shape: ceil((stop - start) / step) per axis. */
    public long[] shape() {
        long[] out = new long[start.length];
        for (int d = 0; d < out.length; d++) out[d] = (stop[d] - start[d] + step[d] - 1) / step[d];
        return out;
    }

    public boolean strided() {
        for (long s : step) if (s != 1) return true;
        return false;
    }

    /**
     * Every step-th element per axis of the bounding box as read: {@code box} is a flat C-order
     * primitive array of {@link #boxShape} (Canonical's in-memory form; a complex element is its
     * two parts), the result the same form of {@link #shape}. The box itself when no axis is strided.
     */
    public Object keepSteps(Object box) {
        if (!strided()) return box;
        int rank = start.length;
        int[] boxShape = boxShape();
        long[] outShape = shape();
        long boxSize = 1, outSize = 1;
        for (int d = 0; d < rank; d++) {
            boxSize *= boxShape[d];
            outSize *= outShape[d];
        }
        int width = Math.toIntExact(java.lang.reflect.Array.getLength(box) / boxSize);  // 2 for complex
        // Element strides of the box in C order.
        long[] stride = new long[rank];
        long s = width;
        for (int d = rank - 1; d >= 0; d--) {
            stride[d] = s;
            s *= boxShape[d];
        }
        Object out = java.lang.reflect.Array.newInstance(box.getClass().getComponentType(),
                Math.toIntExact(outSize * width));
        // The last axis copies as one run when its step is 1, element by element otherwise.
        int last = rank - 1;
        int run = step[last] == 1 ? Math.toIntExact(outShape[last]) * width : width;
        long runs = step[last] == 1 ? outSize / outShape[last] : outSize;
        int[] idx = new int[rank];  // the output index of the current run (the last axis only when strided)
        int lastAxis = step[last] == 1 ? last - 1 : last;
        int pos = 0;
        for (long r = 0; r < runs; r++) {
            long src = 0;
            for (int d = 0; d <= lastAxis; d++) src += idx[d] * step[d] * stride[d];
            System.arraycopy(box, Math.toIntExact(src), out, pos, run);
            pos += run;
            for (int d = lastAxis; d >= 0; d--) {
                if (++idx[d] < outShape[d]) break;
                idx[d] = 0;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        List<String> axes = new ArrayList<>();
        for (int d = 0; d < start.length; d++) axes.add("[" + start[d] + ", " + stop[d] + ", " + step[d] + "]");
        return "[" + String.join(", ", axes) + "]";
    }
}
