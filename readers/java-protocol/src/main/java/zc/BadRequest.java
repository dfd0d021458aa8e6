package zc;

/** A request the adapter cannot serve as asked (a malformed region): answered "BadRequest: ...". */
public class BadRequest extends Exception {
    public BadRequest(String message) {
        super(message);
    }
}
