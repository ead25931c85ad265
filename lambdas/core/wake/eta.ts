// Owns the wake page's estimate: how long this environment's own ups took, from its run index
// rows (records/run-index.ts) of the last 30 days: the ups that succeeded, p50 and p90 of
// their durations. No such up yet: no estimate ("no estimate yet"), never a made-up figure.
// Reading is report/build.ts's (one LIST and the rows per day), so a row is checked the same way.
import type { Environment } from '../config/schema.ts';
import type { StateStore } from '../gateways/store.ts';
import { daysBetween, readDayRows } from '../report/build.ts';
import type { RunRow } from '../report/model.ts';

export const ETA_DAYS = 30;

export interface Eta {
  /** Seconds. */
  p50: number;
  p90: number;
  /** How many ups it is made of. */
  samples: number;
}

/** The q-quantile (0..1) of sorted values, by nearest rank. */
function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? 0;
}

/** The estimate from rows: this environment's succeeded ups, or null without any. */
export function etaOf(rows: readonly RunRow[]): Eta | null {
  const seconds = rows
    .filter((r) => r.action === 'up' && r.outcome === 'succeeded' && r.endedAt !== null)
    .map((r) => (Date.parse(r.endedAt as string) - Date.parse(r.startedAt)) / 1000)
    .filter((s) => Number.isFinite(s) && s >= 0)
    .sort((a, b) => a - b);
  if (!seconds.length) return null;
  return {
    p50: Math.round(quantile(seconds, 0.5)),
    p90: Math.round(quantile(seconds, 0.9)),
    samples: seconds.length,
  };
}

export async function readEta(store: StateStore, env: Environment, now: Date): Promise<Eta | null> {
  const days = daysBetween(new Date(now.getTime() - (ETA_DAYS - 1) * 86_400_000), now);
  const read = await Promise.all(days.map((day) => readDayRows({ env, store }, day, now)));
  return etaOf(read.flatMap((d) => d.rows));
}

/** "about 4 min (up to 7 min)": how the page says it. */
export function describeEta(eta: Eta | null): string {
  if (!eta) return 'an unknown time (no estimate yet: it has not been woken in the last 30 days)';
  const say = (s: number) => (s < 90 ? `${s} s` : `${Math.round(s / 60)} min`);
  return `about ${say(eta.p50)} (up to ${say(eta.p90)}), from ${eta.samples} past wake${eta.samples === 1 ? '' : 's'}`;
}
