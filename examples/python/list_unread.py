#!/usr/bin/env python3
"""List the unread messages of a Gmail connection, through a connectr server.

    CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=cnr_... \
        python list_unread.py <gmail connection id>     (or CONNECTR_CONNECTION_ID)

Prints one line per unread message (id, sender, subject), then the count.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Mapping

import connectr
from connectr.connectors import GmailConnector


def header(message: Mapping[str, Any], name: str) -> str:
    for h in message.get("payload", {}).get("headers", []):
        if h.get("name", "").lower() == name.lower():
            return str(h.get("value", ""))
    return ""


def main() -> int:
    connection = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CONNECTR_CONNECTION_ID")
    if not connection:
        print("usage: list_unread.py <gmail connection id> (or set CONNECTR_CONNECTION_ID)", file=sys.stderr)
        return 2
    count = 0
    with connectr.Client() as client:  # CONNECTR_URL and CONNECTR_API_KEY from the environment
        gmail = GmailConnector(client, connection)  # generated from connectors/gmail.yaml
        try:
            # every page of unread message ids, streamed as the server follows nextPageToken
            for item in gmail.iter_list_messages(q="is:unread", max_results=100):
                message = gmail.get_message(
                    item["id"], format="metadata", metadata_headers=["From", "Subject"]
                ).body
                print(f"{item['id']}\t{header(message, 'From')}\t{header(message, 'Subject')}")
                count += 1
        except connectr.ConnectrError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(f"{count} unread message{'s' if count != 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
