package zc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Region (java-protocol): parsing, checking against a shape, the bounding box and keepSteps on
 * flat C-order primitive arrays (one and two values per element), compared with a direct
 * computation of every selected index.
 *
 * Run with an adapter jar on the class path (Jackson comes from it):
 * {@code java -cp ADAPTER.jar:CLASSES zc.RegionChecks}. One line per check ("ok|FAIL NAME[: why]")
 * goes to stdout; the exit status is 1 when a check failed.
 */
public final class RegionChecks {
    private static int failed;

    interface Check {
        void run() throws Exception;
    }

    private static void run(String name, Check c) {
        try {
            c.run();
            System.out.println("ok " + name);
        } catch (Throwable e) {
            failed++;
            System.out.println("FAIL " + name + ": " + String.valueOf(e).replace('\n', ' '));
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    private static Region parse(String json) throws Exception {
        return Region.parse(Protocol.JSON.readTree(json));
    }

    public static void main(String[] args) {
        run("absent and null are the whole array", () -> {
            check(Region.parse(null) == null, "null");
            check(parse("null") == null, "JSON null");
            check(Protocol.JSON.readTree("{}").get("region") == null, "absent");
        });
        run("box and selection shapes", () -> {
            Region r = parse("[[3, 17, 1], [5, 29, 4], [0, 1, 7]]");
            check(Arrays.equals(r.offset(), new long[]{3, 5, 0}), Arrays.toString(r.offset()));
            check(Arrays.equals(r.intOffset(), new int[]{3, 5, 0}), Arrays.toString(r.intOffset()));
            check(Arrays.equals(r.boxShape(), new int[]{14, 24, 1}), Arrays.toString(r.boxShape()));
            check(Arrays.equals(r.shape(), new long[]{14, 6, 1}), Arrays.toString(r.shape()));
            check(r.strided() && r.rank() == 3, "strided, rank 3");
            check(!parse("[[0, 4, 1]]").strided(), "step 1 is not strided");
            check(r.toString().equals("[[3, 17, 1], [5, 29, 4], [0, 1, 7]]"), r.toString());
        });
        for (String bad : List.of("5", "{}", "[5]", "[[1, 2]]", "[[1, 2, 3, 4]]", "[[1.5, 2, 1]]", "[[true, 2, 1]]",
                "[[\"1\", 2, 1]]", "[[null, 2, 1]]", "[[2, 2, 1]]", "[[3, 2, 1]]", "[[-1, 2, 1]]", "[[0, 2, 0]]",
                "[[0, 2, -1]]", "[[0, 2, 1], 7]", "[[0, 99999999999999999999, 1]]")) {
            run("malformed " + bad, () -> {
                try {
                    parse(bad);
                } catch (BadRequest e) {
                    check(e.getMessage().contains("[start, stop, step]"), e.getMessage());
                    return;
                }
                throw new AssertionError("parsed");
            });
        }
        run("check against the shape", () -> {
            Region r = parse("[[0, 4, 1], [2, 6, 3]]");
            r.check(new long[]{4, 6});
            r.check(new int[]{10, 10});
            for (long[] shape : new long[][]{{4, 5}, {3, 6}, {4}, {4, 6, 1}, {}}) {
                try {
                    r.check(shape);
                    throw new AssertionError("fits " + Arrays.toString(shape));
                } catch (BadRequest e) {
                    check(e.getMessage().contains("does not fit shape"), e.getMessage());
                }
            }
            parse("[]").check(new long[0]);  // a 0-d array: no axes
        });
        run("keepSteps without steps is the box itself", () -> {
            Region r = parse("[[1, 3, 1], [0, 2, 1]]");
            int[] box = {1, 2, 3, 4};
            check(r.keepSteps(box) == box, "same array");
        });
        Random rnd = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int rank = 1 + trial % 4;
            int width = trial % 5 == 0 ? 2 : 1;  // complex: two parts per element
            int[] start = new int[rank], stop = new int[rank], step = new int[rank];
            StringBuilder json = new StringBuilder("[");
            for (int d = 0; d < rank; d++) {
                start[d] = rnd.nextInt(4);
                stop[d] = start[d] + 1 + rnd.nextInt(7);
                step[d] = 1 + rnd.nextInt(trial % 3 == 0 ? 1 : 4);
                json.append(d > 0 ? ", " : "").append("[").append(start[d]).append(", ").append(stop[d])
                        .append(", ").append(step[d]).append("]");
            }
            String region = json.append("]").toString();
            String type = List.of("long", "byte", "double", "boolean").get(trial % 4);
            run("keepSteps " + type + " x" + width + " " + region.replace(" ", ""),
                    () -> keepSteps(parse(region), start, stop, step, width, type));
        }
        System.out.flush();
        System.exit(failed == 0 ? 0 : 1);
    }

    /** keepSteps on a box of distinct values, against the selected indices computed one by one. */
    private static void keepSteps(Region r, int[] start, int[] stop, int[] step, int width, String type) {
        int rank = start.length;
        int[] box = r.boxShape();
        int boxSize = 1;
        for (int b : box) boxSize *= b;
        long[] values = new long[boxSize * width];
        for (int i = 0; i < values.length; i++) values[i] = i;
        List<Long> want = new ArrayList<>();
        int[] idx = new int[rank];  // index into the box
        while (true) {
            boolean selected = true;
            for (int d = 0; d < rank; d++) selected &= idx[d] % step[d] == 0;
            if (selected) {
                long flat = 0;
                for (int d = 0; d < rank; d++) flat = flat * box[d] + idx[d];
                for (int w = 0; w < width; w++) want.add(flat * width + w);
            }
            int d = rank - 1;
            while (d >= 0 && ++idx[d] == box[d]) idx[d--] = 0;
            if (d < 0) break;
        }
        long outSize = 1;
        for (long n : r.shape()) outSize *= n;
        check(want.size() == outSize * width, "shape " + Arrays.toString(r.shape()) + " for " + want.size());
        Object in;
        switch (type) {
            case "long" -> in = values;
            case "byte" -> {
                byte[] a = new byte[values.length];
                for (int i = 0; i < a.length; i++) a[i] = (byte) values[i];
                in = a;
            }
            case "double" -> {
                double[] a = new double[values.length];
                for (int i = 0; i < a.length; i++) a[i] = values[i];
                in = a;
            }
            default -> {
                boolean[] a = new boolean[values.length];
                for (int i = 0; i < a.length; i++) a[i] = values[i] % 3 == 0;
                in = a;
            }
        }
        Object got = r.keepSteps(in);
        check(got.getClass() == in.getClass(), "type " + got.getClass());
        int n = java.lang.reflect.Array.getLength(got);
        check(n == want.size(), "length " + n + " != " + want.size());
        for (int i = 0; i < n; i++) {
            long w = want.get(i);
            Object expect = switch (type) {
                case "long" -> w;
                case "byte" -> (byte) w;
                case "double" -> (double) w;
                default -> w % 3 == 0;
            };
            check(java.lang.reflect.Array.get(got, i).equals(expect), "element " + i + ": "
                    + java.lang.reflect.Array.get(got, i) + " != " + expect);
        }
    }
}
