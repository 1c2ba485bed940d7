import { tokenEnvName } from '../../../core/auth/env-credential.js';
import { effectiveHostUrl, requireEndpoint } from '../../../core/connector/model.js';
import { parseConnectorRef } from '../../../core/connector/versions.js';
import { oauthEnvName } from '../../../core/oauth/endpoints.js';
import type { Connector, Endpoint } from '../../../core/connector/model.js';
import type { CliContext } from '../../context.js';
import type { Output } from '../../output.js';
import { definitionList } from '../../output.js';
import { authLabel, connectorSummary, flagUsage, originLabel, paramNotes } from '../../describe.js';

export async function showConnector(ctx: CliContext, name: string, endpointName?: string): Promise<void> {
  const registry = await ctx.registry();
  const ref = parseConnectorRef(name);
  const connector = registry.requireVersion(ref.name, ref.version);
  const versions = registry.versions(connector.name).map((c) => c.version);
  const endpoints =
    endpointName === undefined
      ? connector.endpoints
      : [
          requireEndpoint(
            connector,
            endpointName,
            `Run \`connectr connectors show ${connector.name}\` to list its endpoints.`,
          ),
        ];
  const { out } = ctx;
  const hosts = connector.hosts.map((h) => ({ ...h, effective_url: effectiveHostUrl(h, ctx.env) }));

  if (out.json) {
    out.printJson(
      endpointName === undefined
        ? {
            ...connectorSummary(connector),
            versions,
            hosts,
            auth: connector.auth,
            identity: connector.identity,
            endpoints,
          }
        : endpoints[0],
    );
    return;
  }
  const s = out.style;
  if (endpointName === undefined) {
    out.line(`${s.bold(connector.displayName)} (${connector.name}), definition version ${connector.version}`);
    out.line(connector.description);
    out.line(`Docs:    ${connector.docsUrl}`);
    out.line(`Source:  ${connector.source.file} (${originLabel(connector.source, 'full')})`);
    if (versions.length > 1)
      out.line(`Versions: ${versions.join(', ')} (newest first; show one with ${connector.name}@<version>)`);
    out.line();
    out.line(s.bold('Hosts'));
    for (const h of hosts) {
      const now = h.effective_url === h.url ? '' : s.yellow(` -> ${h.effective_url} (from ${h.env})`);
      out.line(`  ${h.key.padEnd(8)} ${h.url}${now}   ${s.dim(`override with ${h.env}`)}`);
    }
    out.line();
    printAuth(out, connector);
    out.line();
    out.line(s.bold(`Endpoints (${connector.endpoints.length})`));
  }
  for (const ep of endpoints) printEndpoint(out, ep, ctx.io.columns);
  if (endpointName === undefined) {
    out.info(s.dim(`Call one: connectr call ${connector.name} <endpoint> [flags]`));
  }
}

function printAuth(out: Output, connector: Connector): void {
  const s = out.style;
  const auth = connector.auth;
  out.line(`${s.bold('Auth')}     ${authLabel(connector)}`);
  const row = (label: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') out.line(`  ${label.padEnd(18)} ${value}`);
  };
  switch (auth.type) {
    case 'oauth2': {
      row('authorization URL', auth.authorization_url);
      row('token URL', auth.token_url);
      row('device URL', auth.device_authorization_url);
      row('revocation URL', auth.revocation_url);
      row('default scopes', auth.scopes.length ? auth.scopes.join(' ') : '(those enabled for the app)');
      const redirect = auth.redirect;
      const host = redirect?.host ?? '127.0.0.1';
      row(
        'redirect URI',
        `http://${host}:${redirect?.port ?? '<any free port>'}${redirect?.path ?? '/callback'}`,
      );
      row('client id', `$${auth.client_id_env}`);
      if (auth.client_secret !== 'none')
        row(`client secret`, `$${auth.client_secret_env} (${auth.client_secret})`);
      row('register an app', auth.app_registration_url ?? connector.docsUrl);
      row(
        'override URLs with',
        oauthEnvName(connector.name, '{AUTHORIZATION,TOKEN,REVOCATION,DEVICE_AUTHORIZATION}_URL'),
      );
      row('token for scripts', `$${tokenEnvName(connector.name)} (takes precedence over signed-in accounts)`);
      break;
    }
    case 'api_key':
      row('key from', `$${auth.env}`);
      break;
    case 'basic':
      row('username from', `$${auth.username_env}`);
      row('password from', `$${auth.password_env}`);
      break;
    case 'none':
      break;
  }
}

function printEndpoint(out: Output, ep: Endpoint, columns: number): void {
  const s = out.style;
  out.line(
    `  ${s.bold(ep.name)}  ${s.cyan(ep.method)} ${ep.host} ${ep.path}${ep.deprecated ? s.yellow(' (deprecated)') : ''}`,
  );
  out.line(`    ${ep.summary}`);
  if (ep.params.length) {
    out.line(
      definitionList(
        ep.params.map((p) => ({ term: flagUsage(p), text: paramNotes(p, ep) })),
        columns,
        4,
      ),
    );
  }
  const extras: string[] = [];
  if (ep.pagination) extras.push(`pagination: ${ep.pagination.style} (--all follows it)`);
  if (ep.upload_session)
    extras.push(
      `large files: ${ep.upload_session.protocol} upload session over ${ep.upload_session.threshold} bytes`,
    );
  if (ep.scopes?.length) extras.push(`scopes (any of): ${ep.scopes.join(' ')}`);
  if (ep.docs_url) extras.push(`docs: ${ep.docs_url}`);
  for (const line of extras) out.line(`    ${s.dim(line)}`);
  out.line();
}
