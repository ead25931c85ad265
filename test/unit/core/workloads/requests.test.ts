import { describe, expect, it } from 'vitest';
import { stateFromLegacy, stateToLegacy } from '#core/records/legacy-state';
import { parseQuantity, podRequests } from '#core/workloads/requests';
import { fixtureJson } from '../../../support/world.ts';

describe("a pod's requests", () => {
  it('reads Kubernetes quantities', () => {
    expect(parseQuantity('250m')).toBe(0.25);
    expect(parseQuantity('1.5')).toBe(1.5);
    expect(parseQuantity('512Mi')).toBe(512 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('2e3')).toBe(2000);
    expect(parseQuantity('.5')).toBe(0.5);
    expect(parseQuantity(2)).toBe(2);
    for (const bad of ['', 'abc', '1Xi', '-1', '1 Gi', undefined, null, Number.NaN, -3])
      expect(parseQuantity(bad as never), String(bad)).toBeNull();
  });

  it('sums the containers that set them; none set is unknown (null), not zero', () => {
    expect(
      podRequests([
        { resources: { requests: { cpu: '100m', memory: '64Mi' } } },
        { resources: { requests: { cpu: '200m' } } },
        {},
      ]),
    ).toEqual({ cpuCores: 0.3, memoryBytes: 64 * 2 ** 20 });
    expect(podRequests([{ resources: { limits: { cpu: '1' } } as never }])).toEqual({
      cpuCores: null,
      memoryBytes: null,
    });
    expect(podRequests(undefined)).toEqual({ cpuCores: null, memoryBytes: null });
  });

  it('are written as an additive key of the deployment and read back; a legacy entry has none', () => {
    const legacy = fixtureJson('legacy-pre-state-build-10.json') as any;
    const s = stateFromLegacy(legacy, 'k');
    expect(s.deployments.every((d) => d.requests === undefined)).toBe(true);
    const [first, ...rest] = s.deployments;
    if (!first) throw new Error('the legacy fixture has deployments');
    const withRequests = {
      ...s,
      deployments: [{ ...first, requests: { cpuCores: 0.5, memoryBytes: 2 ** 30 } }, ...rest],
    };
    const json = stateToLegacy(withRequests) as any;
    expect(json.k8s_deployments[first.name].pod_requests).toEqual({ cpu_cores: 0.5, memory_bytes: 2 ** 30 });
    expect(stateFromLegacy(json, 'k').deployments[0]?.requests).toEqual({
      cpuCores: 0.5,
      memoryBytes: 2 ** 30,
    });
  });

  it('out of bounds or of the wrong type in a record read as unknown, and the record still restores', () => {
    const legacy = fixtureJson('legacy-pre-state-build-10.json') as any;
    const name = Object.keys(legacy.k8s_deployments)[0] as string;
    for (const bad of [{ cpu_cores: -1, memory_bytes: 1 }, { cpu_cores: '1', memory_bytes: 1 }, 'lots']) {
      const json = structuredClone(legacy);
      json.k8s_deployments[name].pod_requests = bad;
      const s = stateFromLegacy(json, 'k');
      expect(s.deployments.find((d) => d.name === name)?.requests).toBeUndefined();
      expect(s.deployments.find((d) => d.name === name)?.replicas).toBe(
        legacy.k8s_deployments[name].deployment_replicas,
      );
    }
  });
});
