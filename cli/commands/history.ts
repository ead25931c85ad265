// `cim history`: an environment's builds, newest first, read from its S3 records (the legacy
// tool's included). Read-only: no lock, no write.

import { S3StateStore, s3ClientFor } from '#core/clients/s3-store';
import { resolveEnvironment } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { errorName } from '#core/errors';
import { type HistoryEntry, listHistory } from '#core/records/history';
import type { RecordedRequester } from '#core/records/legacy-state';
import { readWake, type Wake } from '#core/records/wake';
import { cliMessage } from '../error-hints.ts';
import { ExitCode, exitCodeFor } from '../exit-codes.ts';

export interface HistoryInvocation {
  command: 'history';
  configPath: string;
  json: boolean;
  customer: string;
  environment: string;
  limit: number | undefined;
}

/** A build of the history, with the wake whose up it was when wake.json still names it (the latest wake only). */
export type ShownEntry = HistoryEntry & { wake?: Wake };

const wakeNote = (w: Wake) =>
  `woken ${w.source === 'http' ? 'from the wake page' : 'from the CLI'} by ${w.user}${w.address ? ` at ${w.address}` : ''}${w.userAgent ? ` (${w.userAgent.slice(0, 60)})` : ''} until ${w.until}`;

const requesterNote = (r: RecordedRequester) =>
  `requested ${r.source === 'http' ? 'from the wake page' : 'from the CLI'} by ${r.user}${r.subject && r.subject !== r.user ? ` (subject ${r.subject})` : ''}${r.address ? ` at ${r.address}` : ''}${r.userAgent ? ` (${r.userAgent.slice(0, 60)})` : ''}`;

export function renderHistory(entries: ShownEntry[], total: number): string {
  if (entries.length === 0) return 'no history recorded\n';
  const rows = entries.map((e) => {
    const notes: string[] = [];
    // The latest wake says it all (until when); an earlier wake's up keeps its requester.
    if (e.wake) notes.push(wakeNote(e.wake));
    else if (e.requester) notes.push(requesterNote(e.requester));
    if (e.legacy) notes.push('legacy record');
    if (e.restoredFromBuild) notes.push(`restored from build ${e.restoredFromBuild}`);
    if (e.skipped?.length)
      notes.push(`skipped: ${e.skipped.map((s) => `${s.deployment} (${s.reason})`).join('; ')}`);
    if (e.error)
      notes.push(`${e.error.name}${e.error.step ? ` in ${e.error.step}` : ''}: ${e.error.message}`);
    return [e.build, e.timestamp ?? '-', e.user ?? '-', e.action ?? '-', e.result, notes.join(' · ')];
  });
  const head = ['BUILD', 'TIME (UTC)', 'USER', 'ACTION', 'RESULT', 'NOTES'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const more = total > entries.length ? `(${entries.length} of ${total} builds; --limit to see more)\n` : '';
  return `${[line(head), ...rows.map(line)].join('\n')}\n${more}`;
}

export async function history(inv: HistoryInvocation): Promise<number> {
  try {
    const config = loadConfigFile(inv.configPath);
    const env = resolveEnvironment(config, inv.customer, inv.environment, inv.configPath);
    const store = new S3StateStore(s3ClientFor(env.bucketRegion), env.bucket);
    const [{ entries: listed, total }, wake] = await Promise.all([
      listHistory(store, env, inv.limit),
      // The wake record is a note on its up: one that does not read leaves the history as it is.
      readWake(store, env).catch(() => null),
    ]);
    const entries: ShownEntry[] = listed.map((e) =>
      wake && e.build === wake.wake.build ? { ...e, wake: wake.wake } : e,
    );
    process.stdout.write(
      inv.json
        ? `${JSON.stringify({ environment: `${env.customer}/${env.environment}`, total, entries }, null, 2)}\n`
        : renderHistory(entries, total),
    );
    return ExitCode.Done;
  } catch (err) {
    process.stderr.write(`cim: ${cliMessage(err)}\n`);
    return exitCodeFor(errorName(err));
  }
}
