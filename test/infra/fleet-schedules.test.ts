// Schedules carry their own fleet concurrency and lateness to Select; the fleet state machine's
// timeout outlasts its children (issue 15, "nights that end on time").
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#core/config/catalog';
import { fleetTimeoutSeconds } from '#core/fleet/capacity';
import { CimStack } from '#infra/stacks/central-stack';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const config = (schedules: unknown[], n = 12) =>
  parseConfig(
    {
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [{ name: 'web' }],
      },
      environments: Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}/dev`, {}])),
      schedules,
    },
    'schedules.yaml',
  );
const nightly = { name: 'nightly-down', action: 'down', cron: '0 19 ? * MON-FRI *', environments: ['*/dev'] };

describe('fleet schedules', () => {
  let template: Template;
  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new CimStack(app, 'Schedules', {
      config: config([
        { ...nightly, maxConcurrency: 500, maxLatenessSeconds: 1800 },
        { ...nightly, name: 'morning-up', action: 'up', cron: '0 6 ? * MON-FRI *' },
      ]),
      configSource: 'schedules.yaml',
      handlersDir: resolve(root, 'lambdas', 'handlers'),
      env: { account: '123456789012', region: 'us-east-1' },
    });
    template = Template.fromStack(stack);
  }, 120_000);

  const inputOf = (name: string) => {
    const s = Object.values(template.findResources('AWS::Scheduler::Schedule')) as any[];
    const found = s.find((x) => String(x.Properties.Description).endsWith(`(${name})`));
    return JSON.parse(found.Properties.Target.Input) as Record<string, unknown>;
  };

  it("passes a schedule's maxConcurrency and maxLatenessSeconds to the fleet's Select", () => {
    expect(inputOf('nightly-down')).toMatchObject({ maxConcurrency: 500, maxLatenessSeconds: 1800 });
  });

  it('leaves the concurrency to the capacity model when the schedule gives none', () => {
    const input = inputOf('morning-up');
    expect(input).not.toHaveProperty('maxConcurrency');
    expect(input).not.toHaveProperty('maxLatenessSeconds');
  });

  it('gives the fleet a timeout that outlasts every environment run one after the other', () => {
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as any[];
    const fleet = machines.find((m) => JSON.stringify(m.Properties.StateMachineName).includes('-fleet-'));
    const definition = JSON.stringify(fleet.Properties.DefinitionString);
    const timeout = Number(/\\"TimeoutSeconds\\":(\d+)/.exec(definition)?.[1]);
    // 12 environments of at most 6 h each, plus the fleet's own steps.
    expect(timeout).toBe(fleetTimeoutSeconds(12));
    expect(timeout).toBeGreaterThanOrEqual(12 * 6 * 3600);
  });

  it.each([
    [0, /schedules\[0\]\.maxConcurrency: at least 1/],
    [10_001, /schedules\[0\]\.maxConcurrency: at most 10000 \(a Distributed Map's limit/],
    [2.5, /schedules\[0\]\.maxConcurrency: an integer/],
  ])('refuses a schedule maxConcurrency of %s, naming the entry', (maxConcurrency, message) => {
    expect(() => config([{ ...nightly, maxConcurrency }])).toThrow(message);
  });

  it('refuses, when the file is read, a schedule whose maxConcurrency could outlast the fleet timeout', () => {
    expect(() => config([{ ...nightly, maxConcurrency: 1 }], 1500)).toThrow(
      /schedules\[0\] \("nightly-down"\): 1500 environment\(s\) at maxConcurrency 1 could take up to .*give maxConcurrency 2 or more.*Fix schedules\[0\]\.maxConcurrency/,
    );
    expect(() => config([{ ...nightly, maxConcurrency: 2 }], 1500)).not.toThrow();
  });

  it('refuses a maxLatenessSeconds under a minute', () => {
    expect(() => config([{ ...nightly, maxLatenessSeconds: 5 }])).toThrow(
      /schedules\[0\]\.maxLatenessSeconds: at least 60/,
    );
  });
});
