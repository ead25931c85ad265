// Global setup of the fast tier: synthesize the stack once and provide the environment
// workflow's definition (exactly the synthesized one) to the workflow tests.
import type { TestProject } from 'vitest/node';

export async function setup(project: TestProject) {
  const { synthesizedDefinition } = await import('./support/synthesized.ts');
  project.provide('environmentDefinition', synthesizedDefinition());
}

declare module 'vitest' {
  export interface ProvidedContext {
    environmentDefinition: Record<string, unknown>;
  }
}
