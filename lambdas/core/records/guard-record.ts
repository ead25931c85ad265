// Owns the record of a seven-day guard re-stop, history/{build}/keep-stopped.json, in the
// legacy tool's style (snake_case keys, jenkins_build, aws_rds): the guard says what happened
// in its own terms and this module writes it down.
import type { Environment } from '../config/schema.ts';
import { recordKeys } from '../gateways/store.ts';
import { legacyTimestamp } from './legacy-state.ts';

export const guardRecordKey = (env: Environment, build: string) =>
  `${recordKeys(env, build).buildPrefix}keep-stopped.json`;

/** One guard re-stop (or its failure) of one environment's database. */
export interface GuardRecord {
  build: string;
  user: string;
  customer: string;
  environment: string;
  result: 'succeeded' | 'failed';
  executionId: string;
  trigger: string;
  /** The build of the down the environment is kept down since. */
  keptDownSinceBuild: string | null;
  database: Environment['database'];
  stateBefore: string | null;
  stateAfter: string | null;
  stopIssued: boolean;
  error?: { name: string; message: string };
}

/** The record as it is stored (the keys and their order are the format). */
export function guardRecordToLegacy(r: GuardRecord, now: Date): Record<string, unknown> {
  return {
    timestamp: legacyTimestamp(now),
    jenkins_build: r.build,
    jenkins_user: r.user,
    customer: r.customer,
    environment: r.environment,
    desired_state: 'keep_stopped',
    result: r.result,
    execution_id: r.executionId,
    trigger: r.trigger,
    kept_down_since_build: r.keptDownSinceBuild,
    aws_rds: {
      rds_identifier: r.database.identifier,
      rds_kind: r.database.kind,
      state_before: r.stateBefore,
      state_after: r.stateAfter,
      stop_issued: r.stopIssued,
    },
    ...(r.error ? { error: r.error } : {}),
  };
}
