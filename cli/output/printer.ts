// Human output: live progress from the engine's events, and the legacy tool's colour-coded
// sections (`[=== get_environment_state: Current ===]`, `[=== record_state_s3: ... ===]`).

import { describeWake } from '#core/records/wake';
import type { DryRunPlan, PlannedChange } from '#core/run/plan';
import type { RunSummary } from '#core/run/record';
import { Steps, WaitSteps } from '#core/steps';

export interface Printer {
  line(text: string): void;
  section(title: string, body: unknown): void;
  ok(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  dim(text: string): string;
}

export function makePrinter(
  color: boolean,
  write: (s: string) => void = (s) => process.stdout.write(s),
): Printer {
  const c = (code: string) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const cyan = c('1;36');
  const green = c('32');
  const yellow = c('33');
  const red = c('1;31');
  const dim = c('2');
  return {
    line: (t) => write(`${t}\n`),
    section: (title, body) => write(`\n${cyan(`[=== ${title} ===]`)}\n${JSON.stringify(body, null, 2)}\n`),
    ok: (t) => write(`${green(t)}\n`),
    warn: (t) => write(`${yellow(t)}\n`),
    error: (t) => write(`${red(t)}\n`),
    dim,
  };
}

interface PollOut {
  state: string;
  stable: boolean;
  elapsedSeconds: number;
  waitSeconds: number;
  checks: number;
}

/** One line per step; polls show what was seen, how long we have waited and the next wait. */
export function progressLine(type: string, state: string, output: unknown): string | null {
  if (type === 'StateEntered' && WaitSteps.includes(state as never)) return null;
  if (type !== 'StateExited') return null;
  if (state.startsWith('Check ')) {
    // A check that threw exits with its input plus the caught error: nothing new to show.
    if ((output as { error?: unknown } | null)?.error) return null;
    const p = (output as { poll?: PollOut } | null)?.poll;
    if (!p) return `  ${state}`;
    const when = `check ${p.checks}, ${p.elapsedSeconds} s elapsed`;
    return p.stable
      ? `  ${state}: ${p.state} (${when})`
      : `  ${state}: ${p.state} (${when}); next check in ${p.waitSeconds} s`;
  }
  if (state.startsWith('Caught: ')) return `  ✖ ${state.slice('Caught: '.length)} failed`;
  if (state.endsWith('?') || state === Steps.done || state === Steps.dryRunDone) return null;
  if (WaitSteps.includes(state as never)) return null;
  if (state === Steps.refused || state === Steps.runFailed) return null;
  return `  ${state}`;
}

const recorded = (key: string) => ({
  success: true,
  message: `State successfully recorded to S3 file '${key}'`,
  module: 'S3StateFileManager',
});

/** An active hold (cim hold): what it holds back and what it lets through. */
function printHold(p: Printer, s: RunSummary): void {
  if (s.hold) {
    p.warn(
      `\non hold until ${s.hold.until} by ${s.hold.user}${s.hold.reason ? ` (${s.hold.reason})` : ''}: ${s.hold.skipNext && s.hold.endsAfterSkip ? `the next scheduled ${s.hold.skipNext} is skipped, then the hold ends` : `scheduled ${s.hold.skipNext ?? 'up and down'} runs are skipped`}, manual runs go ahead`,
    );
  }
}

/** The legacy tool's sections, from the run summary. */
export function printLegacySections(p: Printer, s: RunSummary): void {
  if (s.preState) p.section('get_environment_state: Current', s.preState);
  printHold(p, s);
  if (s.restorePoint) {
    p.section('get_previous_state_s3: pre-state.json', {
      success: true,
      message: `S3 file '${s.restorePoint.key}' loaded successfully`,
      module: 'S3StateFileManager',
      data: s.restorePoint.record,
    });
  }
  if (s.action !== 'get_env_state') {
    p.section('update_environment_state', {
      success: s.result === 'succeeded',
      message:
        s.result === 'succeeded'
          ? 'RDS and K8s deployments updated successfully..'
          : `${s.error?.name ?? 'Error'}: ${s.error?.message ?? ''}`,
      action: s.action,
    });
  }
  if (s.postState) p.section('get_environment_state: Current', s.postState);
  for (const key of s.records) {
    const file = key.split('/').pop() ?? key;
    p.section(`${file === 'actions.json' ? 'record_actions_s3' : 'record_state_s3'}: ${file}`, recorded(key));
  }
  for (const c of s.workloadChanges ?? []) {
    const what = `${c.kind} ${c.namespace}/${c.name}`;
    if (c.kind === 'StatefulSet') p.line(`${what}: replicas ${c.from} -> ${c.to}`);
    else p.line(`${what}: suspend ${c.from} -> ${c.to}${c.from === c.to ? ' (unchanged)' : ''}`);
  }
  const moreChanges = (s.counts?.workloadChanges ?? 0) - (s.workloadChanges?.length ?? 0);
  if (moreChanges > 0) p.line(`... and ${moreChanges} more StatefulSet/CronJob changes`);
  for (const sk of s.skipped) p.warn(`skipped ${sk.kind ? `${sk.kind} ` : ''}${sk.deployment}: ${sk.reason}`);
  const moreSkipped = (s.counts?.skipped ?? 0) - s.skipped.length;
  if (moreSkipped > 0) p.warn(`... and ${moreSkipped} more skipped (all listed in the action record)`);
}

/** One sentence per planned change: the dry run's plan is data, rendered only here. */
export function renderPlan(plan: DryRunPlan): string[] {
  const line = (c: PlannedChange): string => {
    switch (c.kind) {
      case 'scale':
        return c.to === 0
          ? `deployment ${c.namespace}/${c.deployment}: scale ${c.from} -> 0 (remembered: ${c.from})`
          : `deployment ${c.namespace}/${c.deployment}: scale ${c.from} -> ${c.to} (from build ${c.fromBuild})`;
      case 'skip':
        return `deployment ${c.namespace}/${c.deployment}: ${c.reason}, would be reported and left as it is`;
      case 'database':
        return c.needed
          ? `${c.database}: ${c.goal === 'stopped' ? 'stop' : 'start'} (now '${c.state}') and wait until '${c.goal}'`
          : `${c.database}: already ${c.goal}, nothing to do`;
      case 'statefulset':
        return `StatefulSet ${c.namespace}/${c.name}: scale ${c.from} -> ${c.to}`;
      case 'cronjob':
        return `CronJob ${c.namespace}/${c.name}: suspend ${c.from} -> ${c.suspend}${c.from === c.suspend ? ' (unchanged)' : ''}`;
      case 'nodegroup': {
        const cfg = (x: { minSize: number; desiredSize: number; maxSize: number }) =>
          `min ${x.minSize}/desired ${x.desiredSize}/max ${x.maxSize}`;
        return c.to
          ? `node group ${c.cluster}/${c.name}: ${cfg(c.from)} -> ${cfg(c.to)}, wait until ACTIVE${c.to.desiredSize > 0 ? ' with its nodes Ready' : ''}`
          : `node group ${c.cluster}/${c.name}: ${c.reason}, would be reported and left as it is (${cfg(c.from)})`;
      }
      case 'ingress':
        return c.reason
          ? `Ingress ${c.namespace}/${c.name}: ${c.reason}, would be left as it is`
          : 'sleeping' in c.to
            ? `Ingress ${c.namespace}/${c.name}: record its spec and point its backends at ${c.to.sleeping}`
            : `Ingress ${c.namespace}/${c.name}: give back its spec recorded by build ${c.to.fromBuild} (if still as the down left it)`;
      case 'wait':
        return c.for === 'deployments'
          ? 'wait until the deployments have exactly their new counts'
          : c.for === 'statefulsets'
            ? 'wait until the StatefulSets have exactly their new counts'
            : 'wait until the health URLs answer';
      case 'read-only':
        return 'get_env_state: read only';
    }
  };
  const lines = plan.plan.map(line);
  if (plan.lockedBy)
    lines.push(
      `note: the environment is locked now by ${plan.lockedBy}; the real run would be refused until it ends`,
    );
  return lines;
}

/** Read-only status: the state, and the run holding the lock if one is in progress. */
export function printStatus(p: Printer, s: RunSummary): void {
  if (s.preState) p.section('get_environment_state: Current', s.preState);
  printHold(p, s);
  if (s.wake)
    p.warn(
      `\n${describeWake(s.wake)} (build ${s.wake.build}): scheduled downs skip it until then; extend with cim wake --extend, end with cim wake --end`,
    );
  const h = s.inProgress;
  if (h) {
    p.warn(
      `\nin progress: ${h.action ?? '?'} build ${h.build ?? '?'} by ${h.user ?? '?'}, step "${h.step ?? '?'}" (last heartbeat ${h.heartbeat_at ?? '?'}), since ${h.acquired_at ?? '?'}`,
    );
  } else {
    p.line('\nno run in progress');
  }
}
