import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startGdriveEmulator } from '../fixtures/emulators/gdrive.js';
import type { ConnectorCase, World } from './cases.js';

/** Google Drive v3: the gdrive connector against the Drive emulator. */

function file(world: World, name: string, content: string | Buffer): string {
  const path = join(world.dir, name);
  writeFileSync(path, content);
  return path;
}

export const gdrive: ConnectorCase = {
  connector: 'gdrive',
  async start(dir) {
    const token = 'gdrive-conformance-token';
    const emulator = await startGdriveEmulator({ acceptToken: (t) => t === token });
    return {
      hosts: { api: emulator },
      env: { CONNECTR_GDRIVE_API_BASE_URL: emulator.url, CONNECTR_GDRIVE_TOKEN: token },
      token,
      dir,
      close: () => emulator.close(),
    };
  },
  endpoints: {
    get_about: {
      args: () => ['--fields', 'user'],
      expect: { host: 'api', method: 'GET', path: '/drive/v3/about', query: { fields: 'user' } },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ user: { emailAddress: 'ann@example.com' } }),
    },
    list_files: {
      args: () => [
        '--q',
        "'1Fid0001' in parents",
        '--corpora',
        'user',
        '--drive-id',
        '0AAdrive',
        '--include-items-from-all-drives',
        '--order-by',
        'folder,name',
        '--page-size',
        '10',
        '--page-token',
        'MA',
        '--spaces',
        'drive',
        '--supports-all-drives',
        '--fields',
        'nextPageToken,files(id,name)',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/drive/v3/files',
        query: {
          q: "'1Fid0001' in parents",
          corpora: 'user',
          driveId: '0AAdrive',
          includeItemsFromAllDrives: 'true',
          orderBy: 'folder,name',
          pageSize: '10',
          pageToken: 'MA',
          spaces: 'drive',
          supportsAllDrives: 'true',
          fields: 'nextPageToken,files(id,name)',
        },
      },
      output: (out) => expect((JSON.parse(out) as { files: unknown[] }).files).toHaveLength(2),
    },
    get_file: {
      args: () => ['--file-id', '1Fid0003', '--supports-all-drives', '--fields', 'id,name'],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/drive/v3/files/1Fid0003',
        query: { supportsAllDrives: 'true', fields: 'id,name' },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ id: '1Fid0003', name: 'report.txt' }),
    },
    download: {
      args: () => ['--file-id', '1Fid0003', '--acknowledge-abuse', '--supports-all-drives'],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/drive/v3/files/1Fid0003',
        query: { alt: 'media', acknowledgeAbuse: 'true', supportsAllDrives: 'true' },
      },
      output: (out) => expect(out).toBe('quarterly report\n'),
    },
    export: {
      args: () => ['--file-id', '1Fid0004', '--mime-type', 'text/plain'],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/drive/v3/files/1Fid0004/export',
        query: { mimeType: 'text/plain' },
      },
      output: (out) => expect(out).toBe('The plan\n'),
    },
    create_folder: {
      args: () => [
        '--name',
        'Reports 2026',
        '--parents',
        '1Fid0001',
        '--supports-all-drives',
        '--fields',
        'id,name,mimeType',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/drive/v3/files',
        query: { supportsAllDrives: 'true', fields: 'id,name,mimeType' },
        json: { name: 'Reports 2026', parents: ['1Fid0001'], mimeType: 'application/vnd.google-apps.folder' },
      },
      output: (out) =>
        expect(JSON.parse(out)).toMatchObject({
          name: 'Reports 2026',
          mimeType: 'application/vnd.google-apps.folder',
        }),
    },
    create_file: {
      args: () => [
        '--name',
        'notes.txt',
        '--parents',
        '1Fid0001',
        '--mime-type',
        'text/plain',
        '--description',
        'Meeting notes',
        '--supports-all-drives',
        '--fields',
        'id',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/drive/v3/files',
        query: { supportsAllDrives: 'true', fields: 'id' },
        json: {
          name: 'notes.txt',
          parents: ['1Fid0001'],
          mimeType: 'text/plain',
          description: 'Meeting notes',
        },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ name: 'notes.txt' }),
    },
    upload: {
      args: (w) => [
        '--file-id',
        '1Fid0003',
        '--supports-all-drives',
        '--file',
        file(w, 'hello.txt', 'hello drive'),
      ],
      expect: {
        host: 'api',
        method: 'PATCH',
        path: '/upload/drive/v3/files/1Fid0003',
        query: { uploadType: 'media', supportsAllDrives: 'true' },
        headers: { 'content-type': 'application/octet-stream' },
        body: 'hello drive',
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ id: '1Fid0003', size: '11' }),
    },
    create_upload_session: {
      args: () => ['--file-id', '1Fid0003', '--supports-all-drives'],
      expect: {
        host: 'api',
        method: 'PATCH',
        path: '/upload/drive/v3/files/1Fid0003',
        query: { uploadType: 'resumable', supportsAllDrives: 'true' },
      },
      output: (out) =>
        expect(JSON.parse(out)).toMatchObject({ location: expect.stringContaining('upload_id=') as unknown }),
    },
    list_permissions: {
      args: () => [
        '--file-id',
        '1Fid0003',
        '--page-size',
        '10',
        '--page-token',
        'MA',
        '--supports-all-drives',
        '--use-domain-admin-access',
        '--fields',
        'permissions(id,role)',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/drive/v3/files/1Fid0003/permissions',
        query: {
          pageSize: '10',
          pageToken: 'MA',
          supportsAllDrives: 'true',
          useDomainAdminAccess: 'true',
          fields: 'permissions(id,role)',
        },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ permissions: [{ role: 'owner' }] }),
    },
    create_permission: {
      args: () => [
        '--file-id',
        '1Fid0003',
        '--role',
        'reader',
        '--type',
        'user',
        '--email-address',
        'bob@example.com',
        '--domain',
        'example.com',
        '--allow-file-discovery',
        '--email-message',
        'For you',
        '--send-notification-email',
        '--transfer-ownership',
        '--supports-all-drives',
        '--use-domain-admin-access',
        '--fields',
        'id,role',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/drive/v3/files/1Fid0003/permissions',
        query: {
          emailMessage: 'For you',
          sendNotificationEmail: 'true',
          transferOwnership: 'true',
          supportsAllDrives: 'true',
          useDomainAdminAccess: 'true',
          fields: 'id,role',
        },
        json: {
          role: 'reader',
          type: 'user',
          emailAddress: 'bob@example.com',
          domain: 'example.com',
          allowFileDiscovery: true,
        },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ id: 'perm1', role: 'reader' }),
    },
    delete_permission: {
      args: () => [
        '--file-id',
        '1Fid0003',
        '--permission-id',
        'perm1',
        '--supports-all-drives',
        '--use-domain-admin-access',
      ],
      expect: {
        host: 'api',
        method: 'DELETE',
        path: '/drive/v3/files/1Fid0003/permissions/perm1',
        query: { supportsAllDrives: 'true', useDomainAdminAccess: 'true' },
      },
    },
  },
  idempotent: { endpoint: 'get_about', args: [] },
  everyHost: [
    // Over the 5 MiB threshold: a resumable session, whose chunks go to the same host.
    {
      endpoint: 'upload',
      args: (w) => [
        '--file-id',
        '1Fid0003',
        '--file',
        file(w, 'session.bin', Buffer.alloc(9 * 1024 * 1024, 7)),
      ],
    },
  ],
  nonIdempotent: { endpoint: 'create_folder', args: ['--name', 'Once'] },
  pagination: {
    list_files: { args: () => ['--q', "'1Fid0002' in parents", '--page-size', '2'], items: 5, minPages: 3 },
    list_permissions: { args: () => ['--file-id', '1Fid0002', '--page-size', '1'], items: 4, minPages: 4 },
  },
};
