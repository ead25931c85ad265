// The checkov acknowledgements as the template carries them: next to each resource, with
// the reason, and only where the finding applies.
import { describe, expect, it } from 'vitest';
import { SCAN_ACKNOWLEDGEMENTS } from '#infra/scan-acknowledgements';
import { synthesizeStack } from '../support/synthesized.ts';

const { template } = synthesizeStack();
type Skip = { id: string; comment: string };
const skipsOf = (type: string) =>
  Object.entries(template.findResources(type)).map(([id, r]) => [
    id,
    ((r.Metadata?.checkov as { skip?: Skip[] } | undefined)?.skip ?? []) as Skip[],
  ]) as [string, Skip[]][];

describe('scan acknowledgements', () => {
  it('gives every function, log group and bucket its deliberate findings with a one-line reason', () => {
    const expected = (type: string) => SCAN_ACKNOWLEDGEMENTS.filter((a) => a.type === type).map((a) => a.id);
    for (const type of ['AWS::Lambda::Function', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket']) {
      const skips = skipsOf(type);
      expect(skips.length, type).toBeGreaterThan(0);
      for (const [id, skip] of skips) {
        // The function EventBridge invokes asynchronously has a dead-letter queue: no CKV_AWS_116.
        const dlq = template.findResources(type)[id]?.Properties?.DeadLetterConfig !== undefined;
        const want = expected(type).filter((a) => !(dlq && a === 'CKV_AWS_116'));
        expect(skip.map((s) => s.id).sort(), `${type} ${id}`).toEqual(want.sort());
        for (const s of skip) expect(s.comment, `${id} ${s.id}`).toMatch(/^[^\n]{20,300}$/);
      }
    }
  });

  it('waives no missing dead-letter queue on the function RDS events invoke asynchronously', () => {
    const withDlq = skipsOf('AWS::Lambda::Function').filter(
      ([id]) => template.findResources('AWS::Lambda::Function')[id]?.Properties?.DeadLetterConfig,
    );
    expect(withDlq.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^Fndatabaseevent/),
      expect.stringMatching(/^Fnreport/),
    ]);
    for (const [, skip] of withDlq) expect(skip.map((s) => s.id)).not.toContain('CKV_AWS_116');
  });

  it('acknowledges nothing on resources no finding applies to', () => {
    const roles = skipsOf('AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(0);
    for (const [id, skip] of roles) expect(skip, id).toEqual([]);
  });
});
