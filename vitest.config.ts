import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          globalSetup: ['test/fast-setup.ts'],
          include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts', 'test/workflow/**/*.test.ts'],
          env: {
            POWERTOOLS_LOG_LEVEL: 'SILENT',
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
          },
          testTimeout: 30_000,
          // The first hook of a workflow file synthesizes the definition (aws-cdk-lib): seconds
          // on a busy 2-core machine.
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
