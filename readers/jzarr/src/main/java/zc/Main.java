package zc;

/** zarr-conformance adapter for JZarr: `java -jar jzarr-adapter.jar [serve|hello|read ...|write ...]`. */
public final class Main {
    public static void main(String[] args) throws Exception {
        System.exit(Protocol.main(new JzarrBackend(), args));
    }
}
