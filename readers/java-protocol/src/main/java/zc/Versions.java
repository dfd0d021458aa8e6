package zc;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Versions of the libraries on the class path, read at run time from their Maven metadata. */
public final class Versions {
    private Versions() {
    }

    /** The version in META-INF/maven/GROUP/ARTIFACT/pom.properties, which Maven puts into every jar it builds. */
    public static String maven(String group, String artifact) {
        String res = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (InputStream in = Versions.class.getResourceAsStream(res)) {
            if (in == null) return null;
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            return null;
        }
    }

    /** A property of this adapter's build (zc-build.properties, filled in by Maven at build time). */
    public static String build(String key) {
        try (InputStream in = Versions.class.getResourceAsStream("/zc-build.properties")) {
            if (in == null) return null;
            Properties p = new Properties();
            p.load(in);
            return p.getProperty(key);
        } catch (IOException e) {
            return null;
        }
    }

    /** A public static String field of a library class, read reflectively (so not inlined at compile time). */
    public static String constant(String className, String field) {
        try {
            var f = Class.forName(className, false, Versions.class.getClassLoader()).getDeclaredField(field);
            f.setAccessible(true);
            return String.valueOf(f.get(null));
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            return null;
        }
    }
}
