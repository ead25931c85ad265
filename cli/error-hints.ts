// What `cim` adds to a core error: the flag or setting that fixes it. Core messages say what
// is wrong and name no CLI flag (a Lambda's error, a `cdk synth`, has no --config); an error
// that carries a `fix` gets its hint here, so that cim prints what it always printed. Next to
// exit-codes.ts, which maps the same errors' names to exit codes.
import { CimError, type ErrorFix, errorMessage } from '#core/errors';

/** Appended to the message of an error with this fix, as cim prints it. */
export const FLAG_HINTS: Record<ErrorFix, string> = {
  'kubeconfig-file': ' Pass --kubeconfig FILE or set kubernetes.kubeconfig.',
  'kubeconfig-context': ' Fix --context or kubernetes.context.',
  'kubeconfig-cluster': ' Pass --context NAME or set kubernetes.context.',
  'reread-hold': '; run cim hold --list and try again',
};

/** An error's message as cim prints it: with the hint of its fix, if it has one. */
export function cliMessage(err: unknown): string {
  const fix = err instanceof CimError ? err.fix : undefined;
  return `${errorMessage(err)}${fix ? FLAG_HINTS[fix] : ''}`;
}
