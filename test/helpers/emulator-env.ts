import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';

/** The environment that points the Dropbox and OneDrive connectors at their emulators, signed in. */
export function emulatorEnv(emulators: {
  dropbox?: DropboxEmulator;
  graph?: GraphEmulator;
}): Record<string, string> {
  const { dropbox, graph } = emulators;
  return {
    ...(dropbox
      ? {
          CONNECTR_DROPBOX_API_BASE_URL: dropbox.api.url,
          CONNECTR_DROPBOX_CONTENT_BASE_URL: dropbox.content.url,
          CONNECTR_DROPBOX_TOKEN: dropbox.token,
        }
      : {}),
    ...(graph
      ? {
          CONNECTR_ONEDRIVE_GRAPH_BASE_URL: graph.baseUrl,
          // Downloads redirect to the emulator's file server, as Graph's to SharePoint, and
          // upload sessions answer an uploadUrl on its upload server, as Graph's on *.up.1drv.com.
          CONNECTR_ONEDRIVE_REDIRECT_HOSTS: `${graph.downloads.url},${graph.uploads.url}`,
          CONNECTR_ONEDRIVE_TOKEN: graph.token,
        }
      : {}),
  };
}
