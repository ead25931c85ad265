import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const FAST_ENV = {
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

// Found with: grep -lE "vi\.(mock|doMock|stubEnv|stubGlobal|resetModules|spyOn)|mockClient|process\.env\.[A-Za-z_]+ *=[^=]|process\.on\(" test/unit test/workflow
// A new test file that does any of this belongs here (test/unit/test-isolation.test.ts checks it).
export const ISOLATED = [
  'test/unit/cli/bad-input-catalog-cli.test.ts',
  'test/unit/cli/bad-input-cli.test.ts',
  'test/unit/cli/cli.test.ts',
  'test/unit/cli/commands/*.test.ts',
  'test/unit/cli/engine/remote.test.ts',
  'test/unit/cli/error-hints.test.ts',
  'test/unit/cli/exit-codes.test.ts',
  'test/unit/core/clients/assume-role.test.ts',
  'test/unit/core/clients/pricing.test.ts',
  'test/unit/core/clients/scheduler.test.ts',
  'test/unit/core/database/rules.test.ts',
  'test/unit/core/wake/start.test.ts',
  'test/unit/docs.test.ts',
  'test/unit/handlers/*.test.ts',
  'test/workflow/bad-input-catalog.test.ts',
  'test/workflow/notifications.test.ts',
  'test/workflow/run-model.test.ts',
];

export default defineConfig({
  test: {
    // Vitest's default leaves one core to its main process: one worker on the 2-core machines
    // CI runs on, and `npm test` took 140 s. The main process does little once the workers
    // run: two workers there take 83 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        extends: true,
        test: {
          // Files that replace modules or process-wide state (vi.mock, aws-sdk-client-mock on a
          // client's prototype, process.env, signal handlers): each in its own module registry.
          name: 'fast',
          globalSetup: ['test/fast-setup.ts'],
          include: ISOLATED,
          env: FAST_ENV,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // The rest of the unit and workflow tests share one module registry per worker, as
          // the infra tests do: re-importing the engine, the SDK clients and zod for each of
          // ~60 files cost ~30 s of the tier's ~40 s of imports.
          name: 'fast-shared',
          globalSetup: ['test/fast-setup.ts'],
          include: ['test/unit/**/*.test.ts', 'test/workflow/**/*.test.ts'],
          exclude: ISOLATED,
          isolate: false,
          env: FAST_ENV,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // The CDK template tests (part of `npm test`): they synthesize stacks and assert on
          // templates, with no module state between files, so they share one module registry
          // per worker. Each file re-importing aws-cdk-lib in isolation cost ~3 s of CPU
          // (82 s for this directory against 27 s shared).
          name: 'fast-infra',
          include: ['test/infra/**/*.test.ts'],
          isolate: false,
          env: FAST_ENV,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // The report page in a real headless Chromium (npm run test:browser; CI installs
          // Debian's chromium with sandbox/browser.sh). Apart from `npm test`: it needs a browser.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          // report-from-runs runs the synthesized workflow on the local engine.
          globalSetup: ['test/fast-setup.ts'],
          env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'scan',
          include: ['test/scan/**/*.test.ts'],
          env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
          testTimeout: 180_000,
        },
      },
    ],
  },
});
