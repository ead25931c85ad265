import { defineConfig } from 'vitest/config';

const FAST_ENV = {
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          globalSetup: ['test/fast-setup.ts'],
          include: ['test/unit/**/*.test.ts', 'test/workflow/**/*.test.ts'],
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
          name: 'scan',
          include: ['test/scan/**/*.test.ts'],
          env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
          testTimeout: 180_000,
        },
      },
    ],
  },
});
