import { describe, expect, it } from 'vitest';
import { deploymentStatus, eksToken } from '#core/clients/kubernetes';
import { deploymentSettled } from '#core/gateways/kubernetes';

describe('deployment status', () => {
  const d = (spec: number, status: Record<string, number>, generation = 2, observed = 2) => ({
    metadata: { generation },
    spec: { replicas: spec },
    status: {
      observedGeneration: observed,
      ...status,
      conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }],
    },
  });

  it('is settled when every wanted replica is available and the spec was observed', () => {
    expect(
      deploymentSettled(
        deploymentStatus(
          d(2, { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 }) as never,
        ),
      ),
    ).toBe(true);
    expect(
      deploymentSettled(
        deploymentStatus(
          d(2, { replicas: 2, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2 }) as never,
        ),
      ),
    ).toBe(false);
    expect(
      deploymentSettled(
        deploymentStatus(
          d(2, { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 }, 3, 2) as never,
        ),
      ),
    ).toBe(false);
  });

  it('after a scale to 0, is settled only once its pods are gone', () => {
    expect(
      deploymentSettled(
        deploymentStatus(d(0, { replicas: 2, readyReplicas: 2, availableReplicas: 2 }) as never),
      ),
    ).toBe(false);
    expect(deploymentSettled(deploymentStatus(d(0, {}) as never))).toBe(true);
  });
});

describe('EKS token', () => {
  it('is a presigned STS GetCallerIdentity URL bound to the cluster name', async () => {
    const token = await eksToken('eks-dev-cluster', 'us-east-1');
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
    expect(url.origin).toBe('https://sts.us-east-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toContain('x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});
