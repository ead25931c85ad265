// The one catalog of function ids (lambdas/core/steps.ts FUNCTIONS): every function has its
// handler file, the per-workflow lists are the catalog's entries, and the one local binder
// binds exactly the Lambda Tasks of each workflow's definition to their handlers.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS, workflowDefinition } from '#cli/engine/definitions';
import type { Deps } from '#core/contracts';
import { FleetFunctions, FUNCTIONS, type FunctionId, GuardFunctions, TaskFunctions } from '#core/steps';
import { localHandlers, taskHandlers } from '#handlers/index';

type Asl = { States: Record<string, { Type: string; Resource?: string; ItemProcessor?: Asl }> };

/** The Task states of a definition that invoke a Lambda function, Map item processors included. */
function lambdaTasks(asl: Asl): string[] {
  return Object.entries(asl.States).flatMap(([name, s]) => [
    ...(s.Type === 'Task' && /:lambda:|:function:/.test(s.Resource ?? '') ? [name] : []),
    ...(s.ItemProcessor ? lambdaTasks(s.ItemProcessor) : []),
  ]);
}

describe('the function catalog', () => {
  it('names a handler file for every deployed function', () => {
    const missing = Object.keys(FUNCTIONS).filter(
      (id) => !existsSync(new URL(`../../../lambdas/handlers/${id}.ts`, import.meta.url)),
    );
    expect(missing).toEqual([]);
  });

  it('derives the per-workflow lists from its entries, in its order', () => {
    const ofWorkflow = (w: string) =>
      Object.entries(FUNCTIONS).flatMap(([id, f]) => (f.workflow === w ? [[id, f.states]] : []));
    expect(Object.entries(TaskFunctions)).toEqual(ofWorkflow('environment'));
    expect(Object.entries(FleetFunctions)).toEqual(ofWorkflow('fleet'));
    expect(Object.entries(GuardFunctions)).toEqual(ofWorkflow('guard'));
  });

  it('has a Task handler for every Task function and none for the functions on events', () => {
    const taskIds = Object.entries(FUNCTIONS)
      .filter(([, f]) => f.workflow !== null)
      .map(([id]) => id);
    expect(Object.keys(taskHandlers).sort()).toEqual(taskIds.sort());
    for (const [id, h] of Object.entries(taskHandlers)) expect(h.id).toBe(id as FunctionId);
  });

  it.each(WORKFLOWS)('binds exactly the Lambda Tasks of the %s definition', async (workflow) => {
    const bound = localHandlers(workflow, {} as Deps);
    const definition = (await workflowDefinition(workflow)) as unknown as Asl;
    expect(Object.keys(bound).sort()).toEqual(lambdaTasks(definition).sort());
  });

  it('binds each Task state to its own function, through the wrapper when given', () => {
    const seen: string[] = [];
    const bound = localHandlers('guard', {} as Deps, (state, fn) => {
      seen.push(state);
      return fn;
    });
    expect(seen.sort()).toEqual(Object.keys(bound).sort());
    expect(seen.sort()).toEqual(
      [
        ...GuardFunctions['guard-select'],
        ...GuardFunctions['guard-step'],
        ...GuardFunctions['guard-summary'],
      ].sort(),
    );
  });
});
