// What a handler's log lines carry in Lambda: the Lambda context (request id, cold start,
// function name), the execution ARN and the environment key, on every line of the invocation.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEPLOYED_CONFIG_FILE, deployedConfigJson } from '#core/config/deployed';
import { loadConfigFile } from '#core/config/file';
import { handlers } from '#handlers/index';
import { logger } from '#handlers/runtime';
import { fixture } from '../../support/world.ts';

// Lambda sets this before the module (and its Logger) loads; Powertools reports a cold start only then.
vi.hoisted(() => {
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
});

const lines: Record<string, unknown>[] = [];
beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), 'cim-task-root-'));
  writeFileSync(
    join(root, DEPLOYED_CONFIG_FILE),
    deployedConfigJson(loadConfigFile(fixture('environments.yaml'))),
  );
  process.env.LAMBDA_TASK_ROOT = root;
  logger.setLogLevel('DEBUG');
  const capture = (chunk: unknown) => {
    for (const l of String(chunk).split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterAll(() => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
  delete process.env.LAMBDA_TASK_ROOT;
  delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
});

const context = (requestId: string) => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'cim-check-health',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:cim-check-health',
  memoryLimitInMB: '256',
  awsRequestId: requestId,
  logGroupName: '/aws/lambda/cim-check-health',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 60_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});
const execution = 'arn:aws:states:us-east-1:111122223333:execution:customer-infra-manager:alpha-dev-up-7';
const ctx = (customer: string) => ({
  request: {
    action: 'up',
    customer,
    environment: 'dev',
    build: '7',
    user: 'u',
    dryRun: false,
    record: false,
  },
  executionId: execution,
  startedAt: '2026-11-26T20:00:00.000Z',
  lock: null,
  previous: null,
  latestEtag: null,
  restore: null,
  holder: null,
  changes: [],
  preState: {
    deployments: [],
    database: { kind: 'instance', identifier: 'x', exists: true, state: 'available' },
    timestamp: '2026-11-26T20:00:00Z',
    build: '7',
  },
});

describe('handler logging', () => {
  it('puts the request id, cold start, function name, execution ARN and environment key on every line', async () => {
    lines.length = 0;
    await expect(handlers['check-health'](ctx('nobody'), context('req-1'))).rejects.toThrow();
    await expect(handlers['check-health'](ctx('nobody'), context('req-2'))).rejects.toThrow();

    const errors = lines.filter((l) => l.message === 'step failed');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      function_request_id: 'req-1',
      cold_start: true,
      function_name: 'cim-check-health',
      executionArn: execution,
      environmentKey: 'nobody/dev',
      step: 'Check health',
      build: '7',
    });
    expect(errors[1]).toMatchObject({
      function_request_id: 'req-2',
      cold_start: false,
      executionArn: execution,
    });
    for (const l of lines) expect(l, JSON.stringify(l)).toMatchObject({ executionArn: execution });
  });

  it('does not carry one invocation keys into the next', async () => {
    lines.length = 0;
    await expect(handlers['check-health']({ hello: 'world' }, context('req-3'))).rejects.toThrow();
    const [line] = lines.filter((l) => l.message === 'step failed');
    expect(line).toMatchObject({ function_request_id: 'req-3' });
    expect(line).not.toHaveProperty('executionArn');
    expect(line).not.toHaveProperty('environmentKey');
  });
});
