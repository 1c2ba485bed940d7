#!/usr/bin/env python3
"""Upload a local file to Dropbox, through a connectr server.

    CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=cnr_... CONNECTR_CONNECTION_ID=conn_... \
        python upload_dropbox.py <local file> <dropbox path, e.g. /docs/report.pdf>

The file is streamed to the server (as execute's body_base64), not read into memory first.
"""

from __future__ import annotations

import os
import sys

import connectr
from connectr.connectors import DropboxConnector


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: upload_dropbox.py <local file> <dropbox path>", file=sys.stderr)
        return 2
    local, remote = sys.argv[1], sys.argv[2]
    connection = os.environ.get("CONNECTR_CONNECTION_ID")
    if not connection:
        print("set CONNECTR_CONNECTION_ID to the Dropbox connection's id", file=sys.stderr)
        return 2
    with connectr.Client() as client, open(local, "rb") as data:
        try:
            # the file is streamed to the server, not read whole
            result = DropboxConnector(client, connection).upload(data, remote, mode="overwrite")
        except connectr.ConnectrError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if not result.ok:
        print(f"Dropbox refused the upload ({result.status}): {result.body}", file=sys.stderr)
        return 1
    print(f"uploaded {result.body['path_display']} ({result.body['size']} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
