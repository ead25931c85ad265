import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Environment } from '#core/config/schema';
import type { WorkloadChange } from '#core/contracts';
import { CimError, ErrorNames } from '#core/errors';
import {
  type EnvironmentState,
  LegacyState,
  stateFromLegacy,
  stateToLegacy,
} from '#core/records/legacy-state';
import { validateWorkloadRecords } from '#core/records/workload-restore-point';
import { WorkloadStateSchema } from '#core/records/workload-state';
import { hpaActive } from '#core/workloads/autoscalers';
import {
  ATTACHED_KINDS,
  changedSinceDown,
  KINDS,
  kindOf,
  preflightProblem,
  type RestoredWorkloads,
  TARGET_KINDS,
  type WorkloadState,
} from '#core/workloads/kinds';
import { statefulSetSettled } from '#core/workloads/statefulsets';

const one: Record<WorkloadState['kind'], WorkloadState> = {
  StatefulSet: {
    kind: 'StatefulSet',
    name: 'db',
    namespace: 'shop',
    exists: true,
    replicas: 3,
    readyReplicas: 3,
  },
  CronJob: {
    kind: 'CronJob',
    name: 'nightly',
    namespace: 'shop',
    exists: true,
    suspend: false,
    schedule: '0 3 * * *',
    activeJobs: 1,
  },
  ScaledObject: {
    kind: 'ScaledObject',
    name: 'web-scaler',
    namespace: 'shop',
    exists: true,
    targetKind: 'Deployment',
    targetName: 'web',
    pausedReplicas: null,
  },
  HorizontalPodAutoscaler: {
    kind: 'HorizontalPodAutoscaler',
    name: 'db-hpa',
    namespace: 'shop',
    exists: true,
    targetKind: 'StatefulSet',
    targetName: 'db',
    minReplicas: 2,
    maxReplicas: 5,
  },
};

const state = (workloads: WorkloadState[]): EnvironmentState => ({
  deployments: [
    {
      name: 'web',
      namespace: 'shop',
      exists: true,
      available: true,
      availableReason: 'MinimumReplicasAvailable',
      replicas: 2,
      appStatus: 'up',
      appUrl: null,
    },
  ],
  workloads,
  database: { kind: 'instance', identifier: 'shop-db', exists: true, state: 'available' },
  timestamp: '2026-01-01T00:00:00Z',
  build: '10',
});

const env = (over: Partial<Environment> = {}) =>
  ({
    customer: 'acme',
    environment: 'dev',
    deployments: [{ name: 'web', namespace: 'shop', healthUrl: null }],
    workloads: [
      { kind: 'StatefulSet', name: 'db', namespace: 'shop' },
      { kind: 'CronJob', name: 'nightly', namespace: 'shop' },
    ],
    maxReplicas: 10,
    discover: null,
    keda: true,
    ...over,
  }) as Environment;

const record = (workloads: WorkloadState[]) => LegacyState.parse(stateToLegacy(state(workloads)));

const refuse = (why: string) => new CimError(ErrorNames.StateRecordInvalid, why);

describe('the registry of workload kinds', () => {
  it('gives every kind its own name, record key and restore key', () => {
    for (const field of ['kind', 'recordKey', 'restoreKey'] as const)
      expect(new Set(KINDS.map((k) => k[field])).size).toBe(KINDS.length);
    expect(KINDS.map((k) => k.kind)).toEqual([
      'StatefulSet',
      'CronJob',
      'ScaledObject',
      'HorizontalPodAutoscaler',
    ]);
  });

  it('sorts StatefulSets and CronJobs as targets, ScaledObjects and HPAs as attached to them', () => {
    expect(TARGET_KINDS.map((k) => [k.kind, k.phase, k.scalable])).toEqual([
      ['StatefulSet', 'inner', true],
      ['CronJob', 'outer', false],
    ]);
    expect(ATTACHED_KINDS.map((k) => k.kind)).toEqual(['ScaledObject', 'HorizontalPodAutoscaler']);
  });

  it('refuses to look up a kind it does not know', () => {
    expect(() => kindOf('DaemonSet')).toThrow(/no workload kind DaemonSet/);
  });

  it.each(KINDS.map((k) => [k.kind, k] as const))(
    'writes a %s under its record key in a shape its legacy schema reads back unchanged',
    (kind, k) => {
      const s = one[kind];
      const written = stateToLegacy(state([s]));
      const entry = (written[k.recordKey] as Record<string, unknown>)[s.name];
      expect(k.legacy.safeParse(entry).success).toBe(true);
      expect(stateFromLegacy(written, 'k').workloads).toEqual([s]);
      expect(WorkloadStateSchema.parse(s)).toEqual(s);
    },
  );

  it('writes the kinds of a state in the order of its workloads, byte for byte as before the registry', () => {
    const written = stateToLegacy(
      state([one.CronJob, one.StatefulSet, one.ScaledObject, one.HorizontalPodAutoscaler] as WorkloadState[]),
    );
    // Produced by the per-kind code this registry replaced (main before issue 17 step 4).
    expect(JSON.stringify(written)).toBe(
      '{"k8s_deployments":{"web":{"deployment_namespace":"shop","deployment_exists":true,"deployment_available":true,"deployment_available_reason":"MinimumReplicasAvailable","deployment_replicas":2,"app_status":"up","app_url":null}},"k8s_cronjobs":{"nightly":{"cronjob_namespace":"shop","cronjob_exists":true,"cronjob_suspend":false,"cronjob_schedule":"0 3 * * *","cronjob_active_jobs":1}},"k8s_statefulsets":{"db":{"statefulset_namespace":"shop","statefulset_exists":true,"statefulset_replicas":3,"statefulset_ready_replicas":3}},"keda_scaledobjects":{"web-scaler":{"scaledobject_namespace":"shop","scaledobject_target_kind":"Deployment","scaledobject_target_name":"web","paused_replicas":null}},"k8s_hpas":{"db-hpa":{"hpa_namespace":"shop","hpa_target_kind":"StatefulSet","hpa_target_name":"db","hpa_min_replicas":2,"hpa_max_replicas":5}},"aws_rds":{"message":"RDS instance \'shop-db\' is in state \'available\'.","rds_identifier":"shop-db","rds_exists":true,"rds_state":"available"},"timestamp":"2026-01-01T00:00:00Z","jenkins_build":"10"}',
    );
    // Read back in registry order: targets first, then the attached kinds.
    expect(stateFromLegacy(written, 'k').workloads?.map((w) => w.kind)).toEqual([
      'StatefulSet',
      'CronJob',
      'ScaledObject',
      'HorizontalPodAutoscaler',
    ]);
  });

  it('writes no workload keys for a state without workloads, as the legacy tool did', () => {
    const written = stateToLegacy({ ...state([]), workloads: undefined } as unknown as EnvironmentState);
    expect(Object.keys(written)).toEqual(['k8s_deployments', 'aws_rds', 'timestamp', 'jenkins_build']);
    expect(stateFromLegacy(written, 'k').workloads).toBeUndefined();
  });

  it('refuses a run context workload of a kind it does not know', () => {
    expect(WorkloadStateSchema.safeParse({ ...one.StatefulSet, kind: 'DaemonSet' }).success).toBe(false);
  });
});

describe('the restore point of the workload kinds', () => {
  it('keeps, by kind, what up needs of each recorded object, in the context shape of before', () => {
    const restored = validateWorkloadRecords(
      record([
        one.StatefulSet,
        one.CronJob,
        one.ScaledObject,
        one.HorizontalPodAutoscaler,
        { ...one.StatefulSet, name: 'gone-from-config' } as WorkloadState,
      ]),
      env(),
      refuse,
    );
    expect(Object.keys(restored)).toEqual([
      'statefulSets',
      'cronJobs',
      'scaledObjects',
      'hpas',
      'notConfigured',
    ]);
    expect(restored).toEqual({
      statefulSets: { db: 3 },
      cronJobs: { nightly: false },
      scaledObjects: { 'web-scaler': { namespace: 'shop', pausedReplicas: null } },
      hpas: {
        'db-hpa': {
          namespace: 'shop',
          targetKind: 'StatefulSet',
          targetName: 'db',
          minReplicas: 2,
          maxReplicas: 5,
        },
      },
      notConfigured: ['StatefulSet gone-from-config'],
    });
  });

  it('refuses a target recorded in another namespace than configured, naming the kind', () => {
    expect(() =>
      validateWorkloadRecords(
        record([{ ...one.CronJob, namespace: 'other' } as WorkloadState]),
        env(),
        refuse,
      ),
    ).toThrow('CronJob nightly is recorded in namespace "other", configured in "shop"');
  });

  it("refuses an attached object outside the environment's namespaces before looking at the targets", () => {
    expect(() =>
      validateWorkloadRecords(
        record([
          { ...one.StatefulSet, namespace: 'other' } as WorkloadState,
          { ...one.HorizontalPodAutoscaler, namespace: 'elsewhere' } as WorkloadState,
        ]),
        env(),
        refuse,
      ),
    ).toThrow(
      `HorizontalPodAutoscaler db-hpa is recorded in namespace "elsewhere", not one of the environment's`,
    );
  });

  it('refuses a StatefulSet count above maxReplicas, and restores nothing of one that did not exist', () => {
    expect(() => validateWorkloadRecords(record([one.StatefulSet]), env({ maxReplicas: 2 }), refuse)).toThrow(
      'StatefulSet db would be restored to 3 replicas, above maxReplicas 2',
    );
    const missing = { ...one.StatefulSet, exists: false, replicas: 0 } as WorkloadState;
    expect(validateWorkloadRecords(record([missing]), env(), refuse).statefulSets).toEqual({});
  });

  it('types the restore point and the changes from the registry', () => {
    expectTypeOf<RestoredWorkloads['statefulSets']>().toEqualTypeOf<Record<string, number>>();
    expectTypeOf<RestoredWorkloads['cronJobs']>().toEqualTypeOf<Record<string, boolean>>();
    expectTypeOf<Extract<WorkloadChange, { kind: 'StatefulSet' }>['to']>().toEqualTypeOf<number>();
    expectTypeOf<Extract<WorkloadChange, { kind: 'CronJob' }>['to']>().toEqualTypeOf<boolean>();
  });
});

describe('the rules of each kind', () => {
  it('reports a StatefulSet above maxReplicas at the preflight of a down, and nothing for the other kinds', () => {
    expect(preflightProblem(one.StatefulSet, env({ maxReplicas: 2 }))).toBe(
      'StatefulSet shop/db runs 3 replicas, above maxReplicas 2: up would refuse to restore it; raise maxReplicas for this environment',
    );
    expect(preflightProblem(one.StatefulSet, env())).toBeUndefined();
    for (const s of [one.CronJob, one.ScaledObject, one.HorizontalPodAutoscaler])
      expect(preflightProblem(s, env({ maxReplicas: 0 }))).toBeUndefined();
  });

  it('reports an HPA whose bounds changed since the down, and one that is gone', () => {
    const restored = validateWorkloadRecords(record([one.HorizontalPodAutoscaler]), env(), refuse);
    const now = [{ ...one.HorizontalPodAutoscaler, maxReplicas: 8 }] as WorkloadState[];
    expect(changedSinceDown(restored, now, '10')).toEqual([
      {
        deployment: 'db-hpa',
        kind: 'HorizontalPodAutoscaler',
        reason:
          'HorizontalPodAutoscaler shop/db-hpa changed since the down (min-max 2-5 at build 10, now 2-8); left as it is',
      },
    ]);
    expect(changedSinceDown(restored, [], '10')[0]?.reason).toMatch(/no longer targets a scaled workload/);
    expect(changedSinceDown(restored, [one.HorizontalPodAutoscaler], '10')).toEqual([]);
    expect(changedSinceDown(undefined, [], '10')).toEqual([]);
  });

  it('counts a StatefulSet settled only when its pods match the count, ready, available and current', () => {
    const base = {
      exists: true,
      replicas: 2,
      podCount: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      currentReplicas: 2,
      observed: true,
    };
    expect(statefulSetSettled(base)).toBe(true);
    expect(statefulSetSettled({ ...base, replicas: 0 })).toBe(false);
    expect(statefulSetSettled({ ...base, currentReplicas: 1 })).toBe(false);
    expect(statefulSetSettled({ ...base, observed: false })).toBe(false);
    expect(statefulSetSettled({ ...base, exists: false, observed: false })).toBe(true);
  });

  it('counts an HPA active again unless it says ScalingDisabled or nothing yet', () => {
    expect(hpaActive({ scalingActive: { status: 'False', reason: 'ScalingDisabled' } })).toBe(false);
    expect(hpaActive({ scalingActive: null })).toBe(false);
    expect(hpaActive({ scalingActive: { status: 'False', reason: 'FailedGetResourceMetric' } })).toBe(true);
    expect(hpaActive({ scalingActive: { status: 'True', reason: null } })).toBe(true);
  });
});
