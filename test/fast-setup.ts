// Global setup of the fast tier: synthesize the stack once and provide the environment
// workflow's definition (exactly the synthesized one) to the workflow tests. Both fast
// projects (isolated and shared registries) run this in the same main process: the
// definition is synthesized once and kept on globalThis.
import type { TestProject } from 'vitest/node';

const memo = globalThis as { cimEnvironmentDefinition?: Promise<Record<string, unknown>> };

export async function setup(project: TestProject) {
  memo.cimEnvironmentDefinition ??= import('./support/synthesized.ts').then((m) => m.synthesizedDefinition());
  project.provide('environmentDefinition', await memo.cimEnvironmentDefinition);
}

declare module 'vitest' {
  export interface ProvidedContext {
    environmentDefinition: Record<string, unknown>;
  }
}
