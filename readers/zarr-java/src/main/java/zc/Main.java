package zc;

/** zarr-conformance adapter for zarr-java: `java -jar zarr-java-adapter.jar [serve|hello|read ...|write ...]`. */
public final class Main {
    public static void main(String[] args) throws Exception {
        System.exit(Protocol.main(new ZarrJavaBackend(), args));
    }
}
