/**
 * A connector of the test's own: an API key in a header, one endpoint answering which key was
 * sent. Tests write it as `keyed.yaml` in a connectors directory and point
 * CONNECTR_KEYED_API_BASE_URL at a local server.
 */
export const KEYED_CONNECTOR = `name: keyed
display_name: Keyed
version: 1
docs_url: https://example.com/docs
description: An API key in a header.
hosts:
  api: https://keyed.example.com
auth:
  type: api_key
  in: header
  name: X-Api-Key
endpoints:
  whoami:
    summary: Which key was sent.
    method: GET
    path: /whoami
`;
