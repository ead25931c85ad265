// The workflows the local engine runs. Apart from cli/engine/definitions.ts so that the module
// the build swaps in for definitions-from-constructs.ts and that one import it without a cycle.
export const WORKFLOWS = ['environment', 'fleet', 'guard'] as const;
export type Workflow = (typeof WORKFLOWS)[number];
