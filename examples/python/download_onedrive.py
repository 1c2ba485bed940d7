#!/usr/bin/env python3
"""Download a file from OneDrive, through a connectr server.

    CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=cnr_... CONNECTR_CONNECTION_ID=conn_... \
        python download_onedrive.py <path in the drive, e.g. Documents/report.pdf> <local file>
"""

from __future__ import annotations

import os
import sys

import connectr
from connectr.connectors import OnedriveConnector


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: download_onedrive.py <path in the drive> <local file>", file=sys.stderr)
        return 2
    remote, local = sys.argv[1], sys.argv[2]
    connection = os.environ.get("CONNECTR_CONNECTION_ID")
    if not connection:
        print("set CONNECTR_CONNECTION_ID to the OneDrive connection's id", file=sys.stderr)
        return 2
    with connectr.Client() as client:
        try:
            result = OnedriveConnector(client, connection).download_by_path(remote.lstrip("/"))
        except connectr.ConnectrError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if not result.ok:
        print(f"OneDrive answered {result.status}: {result.body}", file=sys.stderr)
        return 1
    with open(local, "wb") as out:
        out.write(result.content)
    print(f"downloaded {remote} ({len(result.content)} bytes) to {local}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
