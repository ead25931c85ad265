// `cim serve [--port N]`: the wake page (issue 19) on 127.0.0.1 only, for the configuration's
// `wake.hosts` (a reverse proxy in front keeps the Host header; the environment comes from it
// through the configured map, never from anything else in the request). The routes and their
// checks are lambdas/core/wake/endpoint.ts; this file is the HTTP server and the wake itself,
// which is `cim wake`'s (cli/commands/wake.ts wakeOne: the same claim, rules, record and run
// path), started in the background of this process with the requester as its origin.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { oidcSigningKeys } from '#core/clients/oidc-keys';
import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import type { Environment } from '#core/config/schema';
import { CimError, ErrorNames, errorName, unprintableCharacter } from '#core/errors';
import type { SigningKeys } from '#core/gateways/signing-keys';
import { type WakeHttpRequest, type WakeStart, wakeEndpoint } from '#core/wake/endpoint';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';
import { exitOnSignal, routeCommandSignals } from '../signals.ts';
import { type WakeInvocation, wakeOne } from './wake.ts';

export interface ServeInvocation {
  command: 'serve';
  configPath: string;
  json: boolean;
  /** 0: any free one. */
  port: number;
  kubeconfig: string | undefined;
  context: string | undefined;
}

/** A request body larger than this is no wake form. */
const MAX_BODY_BYTES = 16 * 1024;

export interface WakeServer {
  server: Server;
  url: string;
  /** Resolves once every wake this server started has ended (tests; a graceful stop). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Test seams: the issuer's keys, the CSRF secret, the clock. */
export interface ServeOptions {
  keys?: SigningKeys;
  secret?: Buffer;
  now?: () => Date;
}

export async function startWakeServer(inv: ServeInvocation, o: ServeOptions = {}): Promise<WakeServer> {
  const config = loadConfigFile(inv.configPath);
  const settings = config.wake;
  if (!settings)
    throw new CimError(
      ErrorNames.ConfigInvalid,
      `${inv.configPath} has no wake section: configure wake.issuer, wake.audience, wake.hosts and wake.allow to serve the wake page (docs/operations.md, "The wake page")`,
    );
  const envs = new Map<string, Environment>();
  const environment = (key: string) => {
    let env = envs.get(key);
    if (!env) {
      const [c = '', e = ''] = key.split('/');
      env = resolveEnvironment(config, c, e, inv.configPath);
      envs.set(key, env);
    }
    return env;
  };
  const stores = new Map<string, S3StateStore>();
  const store = (env: Environment) => {
    const k = `${env.bucketRegion}/${env.bucket}`;
    let s = stores.get(k);
    if (!s) {
      s = new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
      stores.set(k, s);
    }
    return s;
  };
  const running = new Set<Promise<unknown>>();
  const now = o.now ?? (() => new Date());

  const startWake = (
    env: Environment,
    r: { user: string; address: string; userAgent: string | undefined },
    minutes: number,
  ): Promise<WakeStart> => {
    const bad = unprintableCharacter(r.user);
    if (bad) return Promise.resolve({ kind: 'refused', why: `your name in the token contains ${bad}` });
    const wakeInv: WakeInvocation = {
      command: 'wake',
      configPath: inv.configPath,
      json: inv.json,
      color: false,
      mode: 'wake',
      customer: env.customer,
      environment: env.environment,
      select: undefined,
      duration: undefined,
      user: r.user,
      kubeconfig: inv.kubeconfig,
      context: inv.context,
      remote: false,
      stateMachineArn: undefined,
    };
    return new Promise<WakeStart>((answer) => {
      const run = wakeOne(
        wakeInv,
        env,
        minutes,
        now(),
        { source: 'http', address: r.address, ...(r.userAgent ? { userAgent: r.userAgent } : {}) },
        (d) => answer(d.kind === 'refused' ? { kind: 'refused', why: d.why } : { kind: 'started' }),
      )
        .then(
          (code) =>
            answer(
              code === ExitCode.Done
                ? { kind: 'started' }
                : { kind: 'refused', why: 'the wake did not start' },
            ),
          (err: unknown) => {
            process.stderr.write(
              `cim serve: the wake of ${env.customer}/${env.environment} failed: ${cliMessage(err)}\n`,
            );
            answer({ kind: 'refused', why: `the wake failed: ${cliMessage(err)}` });
          },
        )
        .finally(() => {
          running.delete(run);
          // A wake's run routes Ctrl-C to itself (to stop safely) and, once its result is final,
          // to "ignored": with no wake left running, Ctrl-C stops the server again.
          if (running.size === 0) routeCommandSignals(exitOnSignal);
        });
      running.add(run);
    });
  };

  const handle = wakeEndpoint({
    settings,
    environment,
    store,
    keys: o.keys ?? oidcSigningKeys(settings.issuer),
    secret: o.secret ?? randomBytes(32),
    now,
    startWake,
  });

  const server = createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        const request: WakeHttpRequest = {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: {
            host: req.headers.host,
            authorization: req.headers.authorization,
            cookie: req.headers.cookie,
            accept: req.headers.accept,
            'user-agent': req.headers['user-agent'],
          },
          body: body ?? '',
          address: req.socket.remoteAddress ?? 'unknown',
        };
        if (body === null) {
          res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8' }).end('request too large\n');
          return;
        }
        const out = await handle(request);
        res.writeHead(out.status, out.headers);
        res.end(req.method === 'HEAD' ? undefined : out.body);
      })
      .catch((err: unknown) => {
        process.stderr.write(`cim serve: ${req.method} ${req.url}: ${cliMessage(err)}\n`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('the records could not be read; try again\n');
      });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    // 127.0.0.1 only: the page is reached through a proxy on this host, never directly.
    server.listen(inv.port, '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : inv.port;
  const idle = async () => {
    while (running.size) await Promise.allSettled([...running]);
  };
  return {
    server,
    url: `http://127.0.0.1:${port}/`,
    idle,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** The body, or null when it is larger than MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => ok(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

export async function serve(inv: ServeInvocation): Promise<number> {
  try {
    const s = await startWakeServer(inv);
    const hosts = Object.keys(loadConfigFile(inv.configPath).wake?.hosts ?? {});
    process.stdout.write(
      inv.json
        ? `${JSON.stringify({ url: s.url, hosts })}\n`
        : `serving the wake page on ${s.url} for ${hosts.join(', ')} (Ctrl-C to stop)\n`,
    );
    await new Promise<void>((done) => s.server.once('close', () => done()));
    return ExitCode.Done;
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}
