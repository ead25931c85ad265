// Interface of the database side: describe, start and stop an RDS instance or Aurora cluster
// (RDS in clients/rds.ts; fakes in tests).
import type { Environment } from '../config/schema.ts';
import type { DatabaseState } from '../records/legacy-state.ts';

export type DatabaseTarget = Environment['database'];
export interface DescribeOptions {
  /** Aurora: also read each member instance's class (one more RDS request; the pre-state only). */
  members?: boolean;
}
export interface DatabaseGateway {
  describe(db: DatabaseTarget, o?: DescribeOptions): Promise<DatabaseState>;
  start(db: DatabaseTarget): Promise<void>;
  stop(db: DatabaseTarget): Promise<void>;
}
