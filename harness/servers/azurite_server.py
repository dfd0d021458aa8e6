"""Azurite's Blob service (the Azure Storage emulator), watched.

    python -m harness.servers.azurite_server NODE AZURITE_BLOB_MAIN_JS
with AZURITE_ACCOUNTS=name:base64key in the environment; prints the port once
the service answers, serves until stdin closes. Blobs live in memory; the
service listens on 127.0.0.1 only, path-style (http://127.0.0.1:PORT/ACCOUNT).
"""

import sys

from .watched import serve


def main() -> int:
    node, script = sys.argv[1:3]

    def command(port: int) -> list[str]:
        # --skipApiVersionCheck: clients send the API version of their SDK, which may be newer than
        # the emulator's; Azurite would refuse it though the requests are the same.
        # --inMemoryPersistence excludes --location: the work directory only holds Azurite's debug log, if any.
        return [node, script, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                "--skipApiVersionCheck", "--disableProductStyleUrl", "--silent"]

    return serve(command, lambda port: f"http://127.0.0.1:{port}/", "Azurite")


if __name__ == "__main__":
    sys.exit(main())
