"""fake-gcs-server (a Google Cloud Storage emulator), watched.

    python -m harness.servers.gcs_server BINARY
prints the port once the JSON API answers, serves until stdin closes. Objects
live in memory; the server speaks plain HTTP on 127.0.0.1 only.
"""

import sys

from .watched import serve


def main() -> int:
    binary = sys.argv[1]

    def command(port: int) -> list[str]:
        url = f"http://127.0.0.1:{port}"
        return [binary, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory",
                "-public-host", f"127.0.0.1:{port}", "-external-url", url, "-log-level", "error"]

    return serve(command, lambda port: f"http://127.0.0.1:{port}/storage/v1/b", "fake-gcs-server")


if __name__ == "__main__":
    sys.exit(main())
