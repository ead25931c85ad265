// Issue 15 item 7: the functions run the S3 client the tests ran, bundled, not the Lambda
// runtime's: an older runtime SDK drops IfMatch (unmodeled before late November 2024) without
// an error, and the lock would become unconditional. The bundle is built as the stack builds
// it and talks to a fake S3 on 127.0.0.1 that records the headers it receives.
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, BUNDLED_SDK, bundleHandler } from '#infra/bundling';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Under the repository, so that the bundles resolve the runtime's packages (external) here.
const out = join(root, '.cache', 'test-bundles-sdk');
const installed = JSON.parse(
  readFileSync(join(root, 'node_modules', '@aws-sdk', 'client-s3', 'package.json'), 'utf8'),
) as { version: string };
/** Each mention of the package name is its bundled package.json (its user agent), or a load at run time. */
const mentions = (code: string, pkg: string) => code.split(`"${pkg}"`).length - 1;
const bundledManifests = (code: string, pkg: string) => code.split(`name:"${pkg}",version:`).length - 1;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  await bundleHandler(join(root, 'lambdas', 'handlers', 'record-intent.ts'), join(out, 'record-intent.mjs'));
  await bundleHandler(join(root, 'lambdas', 'handlers', 'prepare.ts'), join(out, 'prepare.mjs'));
  await bundleHandler(join(root, 'test', 'fixtures', 'bundled-s3-probe.ts'), join(out, 'probe.mjs'));
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the bundled S3 client', () => {
  it('is in the bundle at the installed version, never loaded from the runtime', () => {
    expect(BUNDLED_SDK).toContain('@aws-sdk/client-s3');
    expect(BUNDLE.external).not.toContain('@aws-sdk/client-s3');
    for (const f of ['record-intent.mjs', 'prepare.mjs']) {
      const code = readFileSync(join(out, f), 'utf8');
      // Loaded at run time: `require("…")`, `from"…"`, or a shim's `var x="…"` then `require(x)`.
      expect(mentions(code, '@aws-sdk/client-s3'), f).toBe(bundledManifests(code, '@aws-sdk/client-s3'));
      expect(code, f).toContain(`name:"@aws-sdk/client-s3",version:"${installed.version}"`);
    }
    // The other clients still come from the runtime (prepare reads RDS).
    const prepare = readFileSync(join(out, 'prepare.mjs'), 'utf8');
    expect(bundledManifests(prepare, '@aws-sdk/client-rds')).toBe(0);
    expect(mentions(prepare, '@aws-sdk/client-rds')).toBeGreaterThan(0);
  });

  it('keeps the largest function that uses it within 1.5 MB', () => {
    expect(statSync(join(out, 'prepare.mjs')).size).toBeLessThanOrEqual(1.5 * 1024 * 1024);
  });

  it('sends If-Match on the lock write and the conditional delete', async () => {
    const seen: { method: string; ifMatch: string | undefined }[] = [];
    const s3 = createServer((req, res) => {
      seen.push({ method: req.method ?? '', ifMatch: req.headers['if-match'] as string | undefined });
      req.resume();
      req.on('end', () => {
        res.writeHead(req.method === 'DELETE' ? 204 : 200, { etag: '"etag-3"' });
        res.end();
      });
    });
    await new Promise<void>((r) => s3.listen(0, '127.0.0.1', r));
    const saved = { ...process.env };
    process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    try {
      const { probe } = (await import(pathToFileURL(join(out, 'probe.mjs')).href)) as {
        probe: (bucket: string) => Promise<void>;
      };
      await probe('state');
    } finally {
      process.env = saved;
      await new Promise((r) => s3.close(r));
    }
    expect(seen).toEqual([
      { method: 'PUT', ifMatch: '"etag-1"' },
      { method: 'DELETE', ifMatch: '"etag-2"' },
    ]);
  });
});
