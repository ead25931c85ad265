/** Is dist/cli there and newer than every source file it was built from (root: the project)? */
export function buildState(root?: string): { fresh: true } | { fresh: false; reason: string };
