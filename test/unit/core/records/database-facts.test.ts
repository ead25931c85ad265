import { describe, expect, it } from 'vitest';
import { databaseFactsFromLegacy } from '#core/records/database-facts';
import { type EnvironmentState, stateFromLegacy, stateToLegacy } from '#core/records/legacy-state';
import { fixtureJson } from '../../../support/world.ts';

const aurora: EnvironmentState = {
  deployments: [],
  database: {
    kind: 'cluster',
    identifier: 'a-dev-aurora',
    exists: true,
    state: 'available',
    facts: {
      engine: 'aurora-postgresql',
      instanceClass: null,
      multiAz: true,
      storage: { allocatedGb: 1, type: 'aurora-iopt1', iops: null },
      members: [
        { identifier: 'w', instanceClass: 'db.r6g.large', writer: true },
        { identifier: 'r1', instanceClass: 'db.serverless', writer: false },
        { identifier: 'r2', instanceClass: 'db.r6g.large', writer: false },
      ],
      serverlessV2: { minAcu: 0.5, maxAcu: 8 },
    },
  },
  timestamp: '2026-12-01T20:00:00Z',
  build: '7',
};

describe('database facts in a state record', () => {
  it('round-trips a 3-member Aurora cluster through the record, byte for byte', () => {
    const json = stateToLegacy(aurora);
    const back = stateFromLegacy(JSON.parse(JSON.stringify(json)), 'k');
    expect(back.database).toEqual(aurora.database);
    expect(JSON.stringify(stateToLegacy(back))).toBe(JSON.stringify(json));
  });

  it('reads a legacy record (no facts) as unknown, never a crash', () => {
    const s = stateFromLegacy(fixtureJson('legacy-pre-state-build-10.json'), 'k');
    expect(s.database.facts).toBeUndefined();
    expect(databaseFactsFromLegacy((fixtureJson('legacy-pre-state-build-10.json') as any).aws_rds)).toEqual({
      facts: null,
      ignored: [],
    });
    expect(databaseFactsFromLegacy(undefined)).toEqual({ facts: null, ignored: [] });
  });

  it('ignores a bad new key with a reason naming it, keeps the good ones and still restores', () => {
    const json = stateToLegacy(aurora) as { aws_rds: Record<string, unknown> };
    json.aws_rds.rds_storage = { allocated_gb: -5, type: 'gp3', iops: null };
    json.aws_rds.rds_multi_az = 'yes';
    json.aws_rds.rds_serverless_v2 = { min_acu: 8, max_acu: 1 };
    const read = databaseFactsFromLegacy(json.aws_rds);
    expect(read.ignored).toEqual([
      expect.stringMatching(/^aws_rds\.rds_storage ignored \(allocated_gb: .*>=0/),
      expect.stringMatching(/^aws_rds\.rds_serverless_v2 ignored \(value: min_acu must not exceed max_acu\)/),
      expect.stringMatching(/^aws_rds\.rds_multi_az ignored \(value: .*boolean/),
    ]);
    expect(read.facts).toMatchObject({ engine: 'aurora-postgresql', multiAz: null, storage: null });
    expect(read.facts?.members).toHaveLength(3);
    expect(read.facts?.serverlessV2).toBeUndefined();
    // The legacy reader (the restore of an up) is not refused for it.
    expect(stateFromLegacy(json, 'k').database.identifier).toBe('a-dev-aurora');
  });

  it('ignores a member list that is not a list of members', () => {
    const read = databaseFactsFromLegacy({ rds_engine: 'mysql', rds_members: [{ identifier: 3 }] });
    expect(read.facts?.engine).toBe('mysql');
    expect(read.facts?.members).toBeUndefined();
    expect(read.ignored).toEqual([expect.stringMatching(/^aws_rds\.rds_members ignored \(0\.identifier/)]);
  });
});
