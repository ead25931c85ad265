import { describe, expect, it } from 'vitest';
import { stateToLegacy } from '#core/records/legacy-state';
import { runFacts, stateFacts, UNKNOWN_CLASS } from '#core/records/report-facts';
import { fixtureJson } from '../../../support/world.ts';

const aurora = stateToLegacy({
  deployments: [
    {
      name: 'web',
      namespace: 'a-dev',
      exists: true,
      available: true,
      availableReason: null,
      replicas: 2,
      appStatus: 'up',
      appUrl: null,
      requests: { cpuCores: 0.5, memoryBytes: 3 * 2 ** 29 },
    },
  ],
  workloads: [
    { kind: 'StatefulSet', name: 'redis', namespace: 'a-dev', exists: true, replicas: 3, readyReplicas: 3 },
  ],
  nodegroups: [
    {
      name: 'workers',
      cluster: 'c',
      exists: true,
      status: 'ACTIVE',
      minSize: 1,
      maxSize: 4,
      desiredSize: 2,
      instanceTypes: ['m6i.large'],
      capacityType: 'ON_DEMAND',
    },
  ],
  database: {
    kind: 'cluster',
    identifier: 'a-dev-aurora',
    exists: true,
    state: 'available',
    facts: {
      engine: 'aurora-mysql',
      instanceClass: null,
      multiAz: true,
      storage: { allocatedGb: 1, type: 'aurora', iops: null },
      members: [
        { identifier: 'w', instanceClass: 'db.r6g.large', writer: true },
        { identifier: 'r1', instanceClass: 'db.serverless', writer: false },
        { identifier: 'r2', instanceClass: null, writer: false },
      ],
      serverlessV2: { minAcu: 0.5, maxAcu: 8 },
    },
  },
  timestamp: '2026-12-01T20:00:00Z',
  build: '7',
});

describe("the report's reading of a state record", () => {
  it('gives the database, every workload and node group in the report shapes', () => {
    const f = stateFacts(aurora, 'k');
    expect(f.ignored).toEqual([]);
    expect(f.database).toEqual({
      identifier: 'a-dev-aurora',
      kind: 'cluster',
      engine: 'aurora-mysql',
      instanceClass: null,
      multiAz: true,
      storage: { allocatedGb: 1, type: 'aurora', iops: null },
      members: [
        { identifier: 'w', instanceClass: 'db.r6g.large' },
        { identifier: 'r1', instanceClass: 'db.serverless', serverlessV2: { minAcu: 0.5, maxAcu: 8 } },
        // Unknown, named as such (the savings count it as "no price"), never a silent 0.
        { identifier: 'r2', instanceClass: UNKNOWN_CLASS },
      ],
    });
    expect(f.workloads).toEqual([
      { kind: 'Deployment', namespace: 'a-dev', name: 'web', replicas: 2, cpuCores: 0.5, memoryGiB: 1.5 },
      {
        kind: 'StatefulSet',
        namespace: 'a-dev',
        name: 'redis',
        replicas: 3,
        cpuCores: null,
        memoryGiB: null,
      },
    ]);
    expect(f.nodegroups).toEqual([{ name: 'workers', instanceTypes: ['m6i.large'], desiredSize: 2 }]);
  });

  it.each(['legacy-pre-state-build-10.json', 'legacy-state-down.json'])(
    'reads the legacy %s as unknown facts, with its workloads and nothing ignored',
    (name) => {
      const f = stateFacts(fixtureJson(name), name);
      expect(f.database).toBeNull();
      expect(f.ignored).toEqual([]);
      expect(f.workloads.length).toBeGreaterThan(0);
      expect(f.workloads.every((w) => w.cpuCores === null && w.memoryGiB === null)).toBe(true);
    },
  );

  it('leaves out bad new fields with a reason naming the record and the field; garbage never crashes', () => {
    const bad = structuredClone(aurora) as any;
    bad.k8s_deployments.web.pod_requests = { cpu_cores: 1e9, memory_bytes: 1 };
    bad.eks_nodegroups.workers.instance_types = 'm6i.large';
    bad.aws_rds.rds_members = 'three';
    const f = stateFacts(bad, 'h/7/pre-state.json');
    expect(f.ignored).toEqual([
      expect.stringMatching(/^h\/7\/pre-state\.json: aws_rds\.rds_members ignored/),
      expect.stringMatching(
        /^h\/7\/pre-state\.json: k8s_deployments\.web\.pod_requests ignored \(cpu_cores: /,
      ),
      expect.stringMatching(/^h\/7\/pre-state\.json: eks_nodegroups\.workers\.instance_types ignored/),
    ]);
    expect(f.database?.members).toEqual([]);
    expect(f.workloads[0]).toMatchObject({ cpuCores: null, memoryGiB: null, replicas: 2 });
    expect(f.nodegroups[0]?.instanceTypes).toEqual([]);
    for (const garbage of [null, 3, 'x', [], { aws_rds: 7, k8s_deployments: [1] }])
      expect(stateFacts(garbage, 'g')).toMatchObject({ database: null, workloads: [], nodegroups: [] });
  });
});

describe("the report's reading of an action record", () => {
  const legacy = fixtureJson('legacy-actions-build-10.json');

  it('reads a legacy record as trigger unknown and no phase times', () => {
    expect(runFacts(legacy, 'k')).toEqual({ trigger: 'unknown', phaseTimes: null, ignored: [] });
  });

  it('reads the trigger and phase times, and says why a bad one is left out', () => {
    const t = { run_started: '2026-12-01T20:00:00Z', run_ended: '2026-12-01T20:09:00Z' };
    expect(runFacts({ ...(legacy as object), trigger: 'fleet', phase_times: t }, 'k')).toEqual({
      trigger: 'fleet',
      phaseTimes: t,
      ignored: [],
    });
    const bad = runFacts(
      {
        ...(legacy as object),
        trigger: 'cron',
        phase_times: { run_started: t.run_ended, run_ended: t.run_started },
      },
      'a/actions.json',
    );
    expect(bad.trigger).toBe('unknown');
    expect(bad.phaseTimes).toBeNull();
    expect(bad.ignored).toEqual([
      'a/actions.json: trigger ignored ("cron" is not one of schedule, cli, fleet, guard, wake)',
      'a/actions.json: phase_times ignored (value: a phase ends before it starts)',
    ]);
  });
});
