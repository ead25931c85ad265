// The workflow definitions rendered from the CDK constructs, for a run from source (tsx:
// tests, a dev checkout without a build). The built CLI never loads this module: the build
// (scripts/build-cli.ts) swaps it for the definitions it generated and validated, so a run
// of the built CLI does not load aws-cdk-lib.
import type { Workflow } from './workflows.ts';

/** Rendered here at run time: the engine validates them. */
export const validatedAtBuild = false;

export async function loadDefinition(workflow: Workflow): Promise<Record<string, unknown>> {
  switch (workflow) {
    case 'environment':
      return (await import('#infra/workflows/environment')).renderDefinition();
    case 'fleet':
      return (await import('#infra/workflows/fleet')).renderFleetDefinition();
    case 'guard':
      return (await import('#infra/workflows/guard')).renderGuardDefinition();
  }
}
