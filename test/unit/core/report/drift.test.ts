// report/drift.ts against the producers' own wording and untrusted records: the skip reasons
// come from the real restore rules (a reworded reason fails here, not silently on the page);
// the guard records are read bounded, filtered to the sleep they belong to, and a bad one is
// an exclusion with its key.
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3StateStore } from '#core/clients/s3-store';
import type { Environment } from '#core/config/schema';
import { guardRecordToLegacy } from '#core/records/guard-record';
import { type ActionRecord, actionFromLegacy, actionToLegacy } from '#core/records/legacy-state';
import { changedWhileDown, DRIFT_NAMES_SHOWN, MAX_GUARD_RECORD_BYTES, readDrift } from '#core/report/drift';
import type { RunRow } from '#core/report/model';
import { restoreDecision } from '#core/run/plan';
import { autoscalers, type HpaState } from '#core/workloads/autoscalers';
import { type StatefulSetState, statefulSets } from '#core/workloads/statefulsets';
import { memoryBucket } from '../../../support/memory-s3.ts';

const BUCKET = 'customer-infra-manager';
const env = {
  customer: 'alpha',
  environment: 'dev',
  region: 'us-east-1',
  bucket: BUCKET,
  keyPrefix: 'alpha/dev',
  database: { kind: 'instance', identifier: 'alpha-dev-db' },
} as Environment;
const now = new Date('2026-12-06T06:00:00.000Z');

let bucket: ReturnType<typeof memoryBucket>;
let store: S3StateStore;
beforeEach(() => {
  bucket = memoryBucket();
  store = new S3StateStore(new S3Client({ region: 'us-east-1' }), BUCKET);
});
afterEach(() => bucket.mock.restore());

const restore = { fromBuild: '10', key: 'k', replicas: { api: 2 }, notConfigured: [] };
const reasonOf = (d: { scaleTo: number } | { skip: string }) => ('skip' in d ? d.skip : '');

describe('changedWhileDown', () => {
  it("recognises the real restore rules' reasons for a workload changed since the down, and only those", () => {
    const target = { name: 'api', namespace: 'ns' };
    expect(changedWhileDown(reasonOf(restoreDecision(target, { exists: true, replicas: 5 }, restore)))).toBe(
      true,
    );
    const sts = statefulSets.upConflict?.({ replicas: 4 } as StatefulSetState, 2) ?? '';
    expect(changedWhileDown(sts)).toBe(true);
    const hpa = {
      kind: 'HorizontalPodAutoscaler',
      name: 'api',
      namespace: 'ns',
      exists: true,
      minReplicas: 1,
      maxReplicas: 9,
    };
    const [hpaSkip] =
      autoscalers.drift?.(
        {
          api: {
            namespace: 'ns',
            targetKind: 'Deployment',
            targetName: 'api',
            minReplicas: 2,
            maxReplicas: 4,
          },
        },
        [hpa as HpaState],
        '10',
      ) ?? [];
    expect(changedWhileDown(hpaSkip?.reason ?? '')).toBe(true);

    expect(changedWhileDown(reasonOf(restoreDecision(target, { exists: false, replicas: 0 }, restore)))).toBe(
      false,
    );
    const other = { name: 'web', namespace: 'ns' };
    expect(changedWhileDown(reasonOf(restoreDecision(other, { exists: true, replicas: 0 }, restore)))).toBe(
      false,
    );
  });
});

const down: RunRow = {
  customer: 'alpha',
  environment: 'dev',
  action: 'down',
  build: '10',
  trigger: 'schedule',
  user: 'schedule:nightly',
  startedAt: '2026-12-05T22:00:00.000Z',
  endedAt: '2026-12-05T22:04:00.000Z',
  outcome: 'succeeded',
  recordKey: 'alpha/dev/history/10/actions.json',
};
const downRecord: ActionRecord = {
  timestamp: '2026-12-05T22:00:00Z',
  build: '10',
  user: 'schedule:nightly',
  customer: 'alpha',
  environment: 'dev',
  action: 'down',
  result: 'succeeded',
  lastChange: { action: 'down', build: '10', result: 'succeeded', restorePointBuild: '10' },
};
const guardKey = (at: string, hex = 'abcdef') => `alpha/dev/history/guard-${at}Z-${hex}/keep-stopped.json`;
const guardRecord = (over: { keptDownSinceBuild?: string; result?: 'succeeded' | 'failed' } = {}) =>
  guardRecordToLegacy(
    {
      build: 'guard-x',
      user: 'guard:sweep',
      customer: 'alpha',
      environment: 'dev',
      result: over.result ?? 'succeeded',
      executionId: 'exec-g',
      trigger: 'daily sweep',
      keptDownSinceBuild: over.keptDownSinceBuild ?? '10',
      database: env.database,
      stateBefore: 'available',
      stateAfter: 'stopped',
      stopIssued: true,
    },
    new Date('2026-12-06T03:00:00.000Z'),
  );

describe('readDrift', () => {
  it('reads only the newest guard re-stop since the down, and counts them', async () => {
    bucket.put(guardKey('20261201T030000'), guardRecord({ result: 'failed' })); // before the down: another sleep
    bucket.put(guardKey('20261206T020000'), guardRecord());
    bucket.put(guardKey('20261206T030000', '123456'), guardRecord());
    const d = await readDrift({ env, store, latest: downRecord, runs: [down] }, now);
    expect(d.rows).toEqual([
      expect.objectContaining({
        kind: 'database-available-while-asleep',
        recordKey: guardKey('20261206T030000', '123456'),
        detail: expect.stringContaining('2 re-stops since the down'),
        resolvedAt: '2026-12-06T03:00:00.000Z',
      }),
    ]);
    expect(d.drifted).toBeNull();
    expect(d.exclusions).toEqual([]);
  });

  it("ignores a guard record that keeps another down's sleep", async () => {
    bucket.put(guardKey('20261206T030000'), guardRecord({ keptDownSinceBuild: '9', result: 'failed' }));
    const d = await readDrift({ env, store, latest: downRecord, runs: [down] }, now);
    expect(d.rows).toEqual([]);
  });

  it('turns an oversized or malformed guard record into an exclusion with its key', async () => {
    const big = guardKey('20261206T030000');
    bucket.put(big, { ...guardRecord(), padding: 'x'.repeat(MAX_GUARD_RECORD_BYTES) });
    let d = await readDrift({ env, store, latest: downRecord, runs: [down] }, now);
    expect(d.rows).toEqual([]);
    expect(d.exclusions).toEqual([{ key: big, reason: expect.stringContaining('bytes') }]);
    bucket.put(big, JSON.stringify([1, 2, 3]));
    d = await readDrift({ env, store, latest: downRecord, runs: [down] }, now);
    expect(d.exclusions).toEqual([{ key: big, reason: expect.stringContaining('not a valid record') }]);
  });

  it(`names at most ${DRIFT_NAMES_SHOWN} workloads and counts the rest`, async () => {
    const up = actionFromLegacy(
      actionToLegacy({
        ...downRecord,
        build: '11',
        action: 'up',
        lastChange: { action: 'up', build: '11', result: 'succeeded', restorePointBuild: null },
        skipped: Array.from({ length: 12 }, (_, i) => ({
          deployment: `w${i}`,
          reason: reasonOf(
            restoreDecision({ name: 'api', namespace: 'ns' }, { exists: true, replicas: 5 }, restore),
          ),
        })),
      }),
      'k',
    );
    const d = await readDrift({ env, store, latest: up, runs: [] }, now);
    expect(d.rows).toHaveLength(1);
    expect(d.rows[0]?.detail).toMatch(/found 12 workload\(s\).*w9: .*; and 2 more$/);
    expect(d.rows[0]?.detail).not.toContain('w10:');
    expect(d.drifted).toEqual({ since: '2026-12-05T22:00:00.000Z', detail: 'workloads changed while down' });
    // Everything it needed was in the latest record: no request at all.
    expect(bucket.mock.calls()).toHaveLength(0);
  });
});
