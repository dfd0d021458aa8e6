package zc;

/** The library (or this adapter's use of it) lacks the feature a request needs. */
public class Unsupported extends Exception {
    public Unsupported(String message) {
        super(message);
    }
}
