// What the domain knows of a wake's one-time schedule (EventBridge Scheduler): created or
// moved to a time, and removed. Implemented by an SDK client in clients/.

export interface WakeSchedule {
  /** Deterministic per environment (run/wake-ttl.ts): at most 64 characters. */
  name: string;
  group: string;
  /** `at(yyyy-mm-ddThh:mm:ss)` in UTC. */
  expression: string;
  /** The wake TTL function, and the role the scheduler invokes it as. */
  targetArn: string;
  roleArn: string;
  /** What the function receives: the environment (never anything it would trust beyond that). */
  input: { customer: string; environment: string };
}

export interface WakeSchedules {
  /** Creates the schedule, or moves an existing one of that name to the new time. */
  put(schedule: WakeSchedule): Promise<void>;
  /** Removes it; a schedule already gone (fired and deleted itself) is not an error. */
  remove(name: string, group: string): Promise<void>;
}
