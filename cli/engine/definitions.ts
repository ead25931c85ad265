// The definitions (ASL) of the three workflows that the local engine runs: environment,
// fleet and guard. They come from the CDK constructs, with placeholder function ARNs. The
// built CLI carries them as generated and validated at build time (dist/definitions/, made
// by `npm run build:cli`), so that a run loads neither aws-cdk-lib nor the ASL validator;
// run from source, they are rendered from the constructs and validated by the engine.
import { loadDefinition, validatedAtBuild } from './definitions-from-constructs.ts';
import type { Workflow } from './workflows.ts';

export { WORKFLOWS, type Workflow } from './workflows.ts';

const loaded = new Map<Workflow, Promise<Record<string, unknown>>>();
const prevalidated = new WeakSet<object>();

/** The definition of one workflow, loaded once per process. */
export function workflowDefinition(workflow: Workflow): Promise<Record<string, unknown>> {
  let definition = loaded.get(workflow);
  if (!definition) {
    definition = loadDefinition(workflow).then((d) => {
      if (validatedAtBuild) prevalidated.add(d);
      return d;
    });
    loaded.set(workflow, definition);
    definition.catch(() => loaded.delete(workflow));
  }
  return definition;
}

/** The engine's validation options for a definition: none for one validated when built. */
export function engineValidation(definition: object) {
  return prevalidated.has(definition) ? { noValidate: true } : { checkArn: true, checkPaths: true };
}

/**
 * A definition derived from a loaded one by a fixed rewrite (the local Distributed Map
 * adapter): validated when built if its origin was; run from source, the engine validates it.
 */
export function derivedDefinition<T extends object>(origin: object, derived: T): T {
  if (prevalidated.has(origin)) prevalidated.add(derived);
  return derived;
}
