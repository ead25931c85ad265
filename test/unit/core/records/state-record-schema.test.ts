import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { stateFromLegacy, stateToLegacy } from '#core/records/legacy-state';
import { stateRecordJsonSchema } from '#core/records/state-record-schema';
import { fixtureJson } from '../../../support/world.ts';

const schema = JSON.parse(readFileSync('schemas/state-record.schema.json', 'utf8'));
const validate = new Ajv2020({ strict: false }).compile(schema);

const whole = {
  deployments: [
    {
      name: 'web',
      namespace: 'a-dev',
      exists: true,
      available: true,
      availableReason: 'MinimumReplicasAvailable',
      replicas: 2,
      appStatus: 'up' as const,
      appUrl: null,
    },
  ],
  workloads: [
    {
      kind: 'StatefulSet' as const,
      name: 'redis',
      namespace: 'a-dev',
      exists: true,
      replicas: 3,
      readyReplicas: 3,
    },
    {
      kind: 'CronJob' as const,
      name: 'report',
      namespace: 'a-dev',
      exists: true,
      suspend: false,
      schedule: '*/1 * * * *',
      activeJobs: 1,
    },
  ],
  database: { kind: 'instance' as const, identifier: 'a-dev-rds', exists: true, state: 'available' },
  timestamp: '2026-11-26T20:00:00Z',
  build: '7',
};

describe('the state record JSON Schema (schemas/state-record.schema.json)', () => {
  it('is the one generated from the reader (npm run schema)', () => {
    expect(schema).toEqual(stateRecordJsonSchema());
  });

  it('accepts the legacy records and a record with StatefulSets and CronJobs', () => {
    for (const rec of [
      fixtureJson('legacy-pre-state-build-10.json'),
      fixtureJson('legacy-state-down.json'),
      stateToLegacy(whole),
    ])
      expect(validate(rec), JSON.stringify(validate.errors)).toBe(true);
  });

  it('refuses a StatefulSet count that is not an integer', () => {
    const rec = stateToLegacy(whole) as any;
    rec.k8s_statefulsets.redis.statefulset_replicas = 1.5;
    expect(validate(rec)).toBe(false);
  });
});

describe('state records with other workloads', () => {
  it('round-trip through the legacy shape', () => {
    expect(stateFromLegacy(stateToLegacy(whole), 'k')).toEqual(whole);
  });

  it('write no new keys for an environment without other workloads', () => {
    const { workloads: _w, ...plain } = whole;
    expect(Object.keys(stateToLegacy(plain))).toEqual([
      'k8s_deployments',
      'aws_rds',
      'timestamp',
      'jenkins_build',
    ]);
    expect(stateFromLegacy(stateToLegacy(plain), 'k')).not.toHaveProperty('workloads');
  });
});
