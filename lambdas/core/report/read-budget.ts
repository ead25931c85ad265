// Owns how many S3 requests one report has in flight, and counts them. A report of a large
// fleet is tens of thousands of small requests (build.ts's header); one at a time per
// environment (16 environments at once, as before) that is minutes of waiting on latency. All of
// a report's requests share one budget instead: REQUESTS_IN_FLIGHT, below the AWS SDK's default of
// 50 sockets per client (more would queue inside the SDK, with a warning, and gain nothing).
// S3 itself allows 5,500 GET/LIST per second per prefix: far above 48 requests in flight.
import type { StateStore } from '../gateways/store.ts';

export const REQUESTS_IN_FLIGHT = 48;

export interface ReportRequests {
  list: number;
  get: number;
  put: number;
  delete: number;
}

export const noRequests = (): ReportRequests => ({ list: 0, get: 0, put: 0, delete: 0 });

/** At most `n` of the calls given run at once; the others wait their turn, in order. */
export function requestBudget(n: number): <T>(call: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (call) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await call();
    } finally {
      // Hand the slot to the next in line (it does not count itself in), or free it.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** The store, its requests run within the budget and counted. */
export function budgetedStore(
  store: StateStore,
  budget: <T>(call: () => Promise<T>) => Promise<T>,
  count: ReportRequests,
): StateStore {
  const counted = <T>(kind: keyof ReportRequests, call: () => Promise<T>) =>
    budget(() => {
      count[kind]++;
      return call();
    });
  return {
    bucket: store.bucket,
    getJson: (key, bounds) => counted('get', () => store.getJson(key, bounds)),
    putJson: (key, value, cond) => counted('put', () => store.putJson(key, value, cond)),
    deleteObject: (key, ifMatch) => counted('delete', () => store.deleteObject(key, ifMatch)),
    listKeys: (prefix, limit) => counted('list', () => store.listKeys(prefix, limit)),
  };
}
