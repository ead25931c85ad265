// Tracing on every function, and the optional dashboard (stack.dashboard).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { synthesizeStack } from '../support/synthesized.ts';
import { fixture } from '../support/world.ts';

function withStack(extra: Record<string, unknown>): string {
  const doc = parse(readFileSync(fixture('environments.yaml'), 'utf8')) as Record<string, unknown>;
  const file = join(mkdtempSync(join(tmpdir(), 'cim-obs-')), 'environments.yaml');
  writeFileSync(file, stringify({ ...doc, stack: { ...(doc.stack as object), ...extra } }));
  return file;
}

describe('observability', () => {
  const { template } = synthesizeStack();

  it('traces every function actively, like the state machines', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fns.length).toBeGreaterThan(10);
    for (const f of fns) expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    for (const sm of Object.values(template.findResources('AWS::StepFunctions::StateMachine')))
      expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('has no dashboard unless stack.dashboard is true', () => {
    expect(template.findResources('AWS::CloudWatch::Dashboard')).toEqual({});
  });

  it('with stack.dashboard: true shows runs by result, durations and runs by environment', () => {
    const t = synthesizeStack(withStack({ dashboard: true })).template;
    const dashboards = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const text of [
      'Environment runs by result',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionTime',
      'Fleet runs by result',
      'by environmentKey, action',
    ])
      expect(body).toContain(text);
  });
});
