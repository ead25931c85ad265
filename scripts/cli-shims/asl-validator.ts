// The built CLI runs only the definitions generated with it, which the build validated with
// the engine's validator (scripts/build-cli.ts); the engine is told not to validate again
// (cli/engine/definitions.ts), so the validator (ajv compiling the ASL schema: a quarter of a
// second per start) is left out of the bundle.
export default function aslValidator(): never {
  throw new Error(
    'cim: the built CLI does not validate definitions at run time (they are validated when built)',
  );
}
