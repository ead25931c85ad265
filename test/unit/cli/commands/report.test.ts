// `cim report` at the command line: --backfill indexes legacy history once (a second time
// leaves every row alone), the report's three files are written from those rows, usage
// errors and a bad price file exit 64 before any S3 request, and --serve serves the files
// (and nothing else) on 127.0.0.1.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { report, serveReport, writeReport } from '#cli/commands/report';
import { ExitCode } from '#cli/exit-codes';
import type { ReportModel } from '#core/report/model';
import { capture } from '../../../support/capture.ts';
import { reportModel } from '../../../support/report-model.ts';
import { makeWorld, type World } from '../../../support/world.ts';

const P = 'eks-dev-cluster/alpha/dev';
const CONFIG = ['--config', 'test/fixtures/environments.yaml'];
let main: (argv: string[], env?: NodeJS.ProcessEnv) => Promise<number>;
beforeAll(async () => {
  process.env.CIM_CLI_NO_MAIN = '1';
  ({ main } = await import('#cli/main'));
});

let w: World;
let out: string;
beforeEach(() => {
  w = makeWorld();
  out = mkdtempSync(join(tmpdir(), 'cim-report-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  w.restore();
});

/** A legacy record (no result) of the old tool: it wrote only runs that succeeded. */
const legacy = (build: string, action: string, timestamp: string) => ({
  timestamp,
  jenkins_build: build,
  jenkins_user: 'jenkins',
  customer: 'alpha',
  environment: 'dev',
  desired_state: action,
});

const inv = (over: Partial<Parameters<typeof report>[0]> = {}): Parameters<typeof report>[0] => ({
  command: 'report',
  configPath: 'test/fixtures/environments.yaml',
  json: true,
  select: 'alpha/dev',
  days: 7,
  outDir: out,
  pricesFile: undefined,
  serve: false,
  port: 0,
  backfill: false,
  url: false,
  ...over,
});

describe('cim report --backfill', () => {
  beforeEach(() => {
    w.bucket.put(`${P}/history/1/actions.json`, legacy('1', 'down', '2026-12-03T22:00:00Z'));
    w.bucket.put(`${P}/history/1/post-state.json`, { timestamp: '2026-12-03T22:06:00Z' });
    w.bucket.put(`${P}/history/2/actions.json`, legacy('2', 'up', '2026-12-04T07:00:00Z'));
  });

  it('indexes legacy history once and reports the sleep measured from it', async () => {
    const io = capture();
    const now = () => new Date('2026-12-06T06:00:00.000Z');
    expect(await report(inv({ backfill: true }), now)).toBe(ExitCode.Done);
    const rows = w.bucket.keys().filter((k) => k.startsWith(`${P}/index/`));
    expect(rows).toEqual([`${P}/index/2026-12-03/1-down.json`, `${P}/index/2026-12-04/2-up.json`]);
    expect(w.bucket.json(rows[0] as string)).toMatchObject({
      endedAt: '2026-12-03T22:06:00.000Z',
      outcome: 'succeeded',
      trigger: 'cli',
      recordKey: `${P}/history/1/actions.json`,
    });
    const printed = JSON.parse(io.out());
    expect(printed.backfill['alpha/dev']).toEqual({
      written: 2,
      days: ['2026-12-03', '2026-12-04'],
      existing: 0,
      skipped: [],
    });
    // The report then sealed the days no run can reach any more (2026-11-28 … 2026-12-04).
    expect(printed.index).toMatchObject({ sealedDays: 0, listedDays: 9, sealsWritten: 7 });
    const model = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportModel;
    // Asleep from the down's end (22:06) to the up's start (07:00): 8 h 54 min.
    expect(model.timelines[0]?.asleep).toEqual([
      { from: '2026-12-03T22:06:00.000Z', to: '2026-12-04T07:00:00.000Z' },
    ]);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('<html');
    expect(readFileSync(join(out, 'savings.csv'), 'utf8').length).toBeGreaterThan(0);

    // Again: every row is there already and is left alone.
    const writes = w.bucket.writes.length;
    const first = io.out().length;
    expect(await report(inv({ backfill: true }), now)).toBe(ExitCode.Done);
    expect(JSON.parse(io.out().slice(first)).backfill['alpha/dev']).toMatchObject({
      written: 0,
      existing: 2,
    });
    expect(w.bucket.writes.length).toBe(writes);
  });

  it('changes no record without --backfill: it writes only the seals of past days under report/index/', async () => {
    const io = capture();
    const writes = w.bucket.writes.length;
    expect(await report(inv(), () => new Date('2026-12-06T06:00:00.000Z'))).toBe(ExitCode.Done);
    const written = w.bucket.writes.slice(writes).map((x) => x.key);
    expect(written.length).toBe(7);
    expect(written.every((k) => /^report\/index\/2026-1[12]-\d\d\/[0-9a-f]{16}\.json$/.test(k))).toBe(true);
    // A second report reads those days from the seals and writes nothing.
    const first = io.out().length;
    expect(await report(inv(), () => new Date('2026-12-06T06:00:00.000Z'))).toBe(ExitCode.Done);
    expect(w.bucket.writes.length).toBe(writes + 7);
    expect(JSON.parse(io.out().slice(first)).index).toMatchObject({
      sealedDays: 7,
      listedDays: 2,
      sealsWritten: 0,
    });
  });
});

describe('cim report at the command line', () => {
  it('prints where the report is', async () => {
    const io = capture();
    expect(await main(['report', '--select', 'alpha/dev', '--out', out, ...CONFIG], {})).toBe(ExitCode.Done);
    expect(io.out()).toContain(join(out, 'index.html'));
  });

  it('refuses a bad --days and --select with --all before any request (exit 64)', async () => {
    const io = capture();
    expect(await main(['report', '--days', '0', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(await main(['report', '--all', '--select', 'a/b', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(await main(['report', '--port', '8080', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/--days "0" must be a whole number/);
    expect(w.bucket.mock.calls().length).toBe(0);
  });

  it('refuses a price file with a negative price before any request', async () => {
    const io = capture();
    const file = join(out, 'prices.json');
    writeFileSync(
      file,
      JSON.stringify({
        source: 'negotiated',
        date: '2026-12-01',
        databaseHours: { 'us-east-1|postgres|db.m5.large|single-az': { usd: -1, unit: 'hour' } },
      }),
    );
    expect(await main(['report', '--prices', file, '--out', out, ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(io.err()).toContain(file);
    expect(w.bucket.mock.calls().length).toBe(0);
  });
});

describe('cim report --url', () => {
  it('prints a link to the deployed report/index.html signed for one hour, without any S3 request', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    const io = capture();
    try {
      expect(await main(['report', '--url', '--json', '--select', 'alpha/dev', ...CONFIG], {})).toBe(
        ExitCode.Done,
      );
    } finally {
      vi.unstubAllEnvs();
    }
    const { links } = JSON.parse(io.out()) as { links: { bucket: string; key: string; url: string }[] };
    expect(links).toHaveLength(1);
    const [link] = links;
    expect(link?.bucket).toBe('customer-infra-manager');
    const url = new URL(link?.url ?? '');
    expect(url.pathname).toMatch(/(^|\/)report\/index\.html$/);
    expect(`${url.hostname}${url.pathname}`).toContain('customer-infra-manager');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\//);
    // Signing is local: nothing is read or written, and no local report is built.
    expect(w.bucket.mock.calls().length).toBe(0);
    expect(() => readFileSync(join(out, 'index.html'))).toThrow();
  });

  it('refuses --url with --serve or --backfill (exit 64)', async () => {
    const io = capture();
    expect(await main(['report', '--url', '--serve', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(await main(['report', '--url', '--backfill', ...CONFIG], {})).toBe(ExitCode.Usage);
    expect(io.err()).toMatch(/--url only signs a link/);
    expect(w.bucket.mock.calls().length).toBe(0);
  });
});

describe('cim report --serve', () => {
  it('serves the report on 127.0.0.1 and nothing but its three files', async () => {
    await writeReport(reportModel(), out);
    const { server, url } = await serveReport(out, 0);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toBe(readFileSync(join(out, 'index.html'), 'utf8'));
      expect((await fetch(`${url}savings.csv`)).status).toBe(200);
      expect((await fetch(`${url}../../etc/passwd`)).status).toBe(404);
      expect((await fetch(`${url}prices.json`)).status).toBe(404);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
