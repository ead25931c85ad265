import { describe, expect, it } from 'vitest';
import { guardRecordToLegacy } from '#core/records/guard-record';

const base = {
  build: 'guard-20260101T000000Z-abcdef',
  user: 'guard:RDS-EVENT-0154',
  customer: 'alpha',
  environment: 'dev',
  result: 'succeeded' as const,
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:guard:x',
  trigger: 'daily sweep',
  keptDownSinceBuild: '10',
  database: { kind: 'instance' as const, identifier: 'alpha-dev-db' },
  stateBefore: 'available',
  stateAfter: 'stopping',
  stopIssued: true,
};

describe('the keep-stopped record', () => {
  it('is written with the legacy keys in the order the guard always wrote them', () => {
    const text = JSON.stringify(guardRecordToLegacy(base, new Date('2026-01-02T03:04:05Z')));
    expect(text).toBe(
      '{"timestamp":"2026-01-02T03:04:05Z","jenkins_build":"guard-20260101T000000Z-abcdef","jenkins_user":"guard:RDS-EVENT-0154","customer":"alpha","environment":"dev","desired_state":"keep_stopped","result":"succeeded","execution_id":"arn:aws:states:eu-west-1:123456789012:execution:guard:x","trigger":"daily sweep","kept_down_since_build":"10","aws_rds":{"rds_identifier":"alpha-dev-db","rds_kind":"instance","state_before":"available","state_after":"stopping","stop_issued":true}}',
    );
  });

  it('carries the error of a failed re-stop last, and no error key otherwise', () => {
    const failed = guardRecordToLegacy(
      { ...base, result: 'failed', error: { name: 'DatabaseErrorState', message: 'broken' } },
      new Date('2026-01-02T03:04:05Z'),
    );
    expect(Object.keys(failed).at(-1)).toBe('error');
    expect(failed.error).toEqual({ name: 'DatabaseErrorState', message: 'broken' });
    expect('error' in guardRecordToLegacy(base, new Date())).toBe(false);
  });
});
