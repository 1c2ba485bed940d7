import type { AddressInfo } from 'node:net';
import { ConnectrError, messageOf } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';
import { colorWanted, write } from '../../io.js';
import { allowShutdownGrace } from '../../shutdown.js';
import type { ServeFlags } from '../../../server/settings.js';

/**
 * `connectr serve`: open the store, build the app, listen, and on SIGTERM/Ctrl-C (ctx.signal)
 * stop accepting, let the requests in flight finish (up to --shutdown-timeout, then their
 * connections are closed), close the store and return, so the process exits 0. A second
 * signal ends the process at once (bin.ts).
 */
export async function serve(ctx: CliContext, flags: ServeFlags): Promise<void> {
  const [
    { buildApp },
    { closeGracefully },
    { parseCorsOrigin },
    { parsePublicUrl },
    { openStoreFor },
    { depsOf },
    { serverLogStream },
    { openControlChannel },
    { serverSettings, connectionLimits },
  ] = await Promise.all([
    import('../../../server/app.js'),
    import('../../../server/close.js'),
    import('../../../server/plugins/cors.js'),
    import('../../../server/routes/oauth/urls.js'),
    import('./store.js'),
    import('../../../server/contracts.js'),
    import('./log-stream.js'),
    import('./control.js'),
    import('../../../server/settings.js'),
  ]);
  // Flags and settings are checked before anything is opened, and passed down from here.
  const settings = serverSettings(ctx.env);
  const corsOrigins = (flags.corsOrigin ?? []).map(parseCorsOrigin);
  const publicUrl = flags.publicUrl === undefined ? undefined : parsePublicUrl(flags.publicUrl);
  const connections = connectionLimits(flags, settings);
  const shutdownMs = flags.shutdownTimeout * 1000;
  // bin.ts ends the process this long after the signal: past our own deadline, with margin.
  allowShutdownGrace(shutdownMs + 3000);

  const registry = await ctx.registry();
  const store = await openStoreFor(ctx, settings);
  const log = await serverLogStream(ctx.io.stderr, {
    format:
      flags.logFormat === 'json' || (flags.logFormat === 'auto' && !ctx.io.stderrIsTTY) ? 'json' : 'pretty',
    color: ctx.io.color && colorWanted(ctx.settings, ctx.io.stderrIsTTY),
  });
  try {
    const app = await buildApp(depsOf(store, registry, ctx.env, settings), {
      bodyLimit: flags.bodyLimit,
      maxPendingSignIns: flags.maxSignIns,
      requestTimeout: flags.requestTimeout * 1000,
      connections,
      corsOrigins,
      log: { level: flags.logLevel, stream: log.stream },
      ...(flags.trustProxy === undefined ? {} : { trustProxy: flags.trustProxy }),
      ...(publicUrl === undefined ? {} : { publicUrl }),
    });
    let control;
    const listening: { base?: string } = {};
    try {
      control = await openControlChannel(
        ctx,
        store,
        (error) => {
          app.log.error({ err: error }, 'control channel: a key command failed');
        },
        () => listening.base,
      );
    } catch (error) {
      await app.close();
      throw error;
    }
    try {
      await app.listen({ port: flags.port, host: flags.host });
    } catch (error) {
      await control?.close();
      await app.close();
      throw listenError(error, flags.host, flags.port);
    }
    const { port } = app.server.address() as AddressInfo;
    const url = `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}`;
    listening.base = publicUrl ?? browsableUrl(flags.host, port);
    write(ctx.io.stderr, `connectr serve: listening on ${url} (store: ${store.backend}, docs: ${url}/docs)`);

    await aborted(ctx.signal);
    write(ctx.io.stderr, 'connectr serve: stopping: finishing the requests in flight');
    // Key commands after this point open the database themselves, once it is released.
    await control?.close();
    await closeGracefully(app, shutdownMs, () => {
      write(
        ctx.io.stderr,
        `connectr serve: requests still running after ${flags.shutdownTimeout} s (--shutdown-timeout): closing their connections`,
      );
    });
  } finally {
    log.flush();
    await store.close();
  }
  write(ctx.io.stderr, 'connectr serve: stopped');
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
}

function listenError(error: unknown, host: string, port: number): ConnectrError {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EADDRINUSE':
      return new ConnectrError('unavailable', `port ${port} on ${host} is already in use`, {
        hint: `stop the program using it, or choose another port: connectr serve --port ${port === 65535 ? 5001 : port + 1} (--port 0 picks a free one)`,
      });
    case 'EACCES':
      return new ConnectrError('unavailable', `not allowed to listen on port ${port} on ${host}`, {
        hint: 'ports below 1024 need privileges; choose a port above 1023 with --port',
      });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConnectrError(
        'invalid_input',
        `cannot listen on ${host}: it is not an address of this machine`,
        {
          hint: 'use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)',
        },
      );
    default:
      return new ConnectrError('unavailable', `cannot listen on ${host}:${port}: ${messageOf(error)}`);
  }
}

/** This server as a browser on this machine reaches it: a wildcard address is the loopback one. */
function browsableUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
