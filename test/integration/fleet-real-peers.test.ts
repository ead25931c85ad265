// A fleet of 20 environments down and up through `cim --select`, against the real API server
// and moto: every count restored, every record written, one summary per fleet run.
import { describe, expect, it } from 'vitest';
import { fleetEnvironments } from '../../sandbox/sandbox.ts';
import { cim, dbInstanceState, exists, json, replicas, sandbox } from './peers.ts';

const FLEET = fleetEnvironments(sandbox.fleetKeys.length);

describe('a fleet of 20 environments through cim --select', () => {
  it('goes down and comes back up, every environment its own run, every count restored', async () => {
    expect(sandbox.fleetKeys).toHaveLength(20);
    const alphaBefore = await replicas('alpha-dev', 'backend-deployment');
    const down = await cim([
      'down',
      '--select',
      'tier=fleet',
      '--build',
      'fleet-1',
      '--max-concurrency',
      '10',
      '--json',
    ]);
    expect(down.code, down.stderr + down.stdout).toBe(0);
    const summary = JSON.parse(down.stdout).summary;
    expect(summary.counts).toEqual({ succeeded: 20, skipped: 0, refused: 0, failed: 0 });
    expect(summary.record).toBe(`s3://${sandbox.bucket}/fleet/history/fleet-1/summary.json`);
    expect(await json('fleet/history/fleet-1/summary.json')).toMatchObject({
      build: 'fleet-1',
      counts: { succeeded: 20 },
    });
    for (const [key, e] of Object.entries(FLEET)) {
      for (const name of Object.keys(e.deployments))
        expect(await replicas(e.namespace, name), `${key} ${name}`).toBe(0);
      expect(await dbInstanceState(`${key.replace('/', '-')}-rds`)).toBe('stopped');
      const P = `${sandbox.cluster}/${key}`;
      for (const f of ['pre-state.json', 'post-state.json', 'actions.json'])
        expect(await exists(`${P}/history/fleet-1/${f}`), `${P} ${f}`).toBe(true);
    }
    // Alpha/dev and the others were not selected: untouched (whatever earlier tests left).
    expect(await replicas('alpha-dev', 'backend-deployment')).toBe(alphaBefore);

    const status = await cim(['status', '--select', 'tier=fleet', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout).environments as { environment: string; state: string }[];
    expect(rows.map((r) => r.state)).toEqual(sandbox.fleetKeys.map(() => 'down'));

    const up = await cim([
      'up',
      '--select',
      'fleet0*/dev',
      '--build',
      'fleet-2',
      '--max-concurrency',
      '25',
      '--json',
    ]);
    expect(up.code, up.stderr + up.stdout).toBe(0);
    expect(JSON.parse(up.stdout).summary.counts).toEqual({
      succeeded: 20,
      skipped: 0,
      refused: 0,
      failed: 0,
    });
    for (const [key, e] of Object.entries(FLEET)) {
      for (const [name, n] of Object.entries(e.deployments))
        expect(await replicas(e.namespace, name), `${key} ${name}`).toBe(n);
      expect(await dbInstanceState(`${key.replace('/', '-')}-rds`)).toBe('available');
    }
  });

  it('refuses a selection that matches nothing with exit 64, before anything runs', async () => {
    const r = await cim(['down', '--select', 'tier=nope']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/matches no environment/);
  });
});
