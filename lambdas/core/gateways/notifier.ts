// Interface of where failed runs, guard re-stops and fleet failures are announced (SNS when
// deployed; none locally).

export interface Notification {
  /** At most 100 characters (SNS subject limit). */
  subject: string;
  message: string;
}

export interface Notifier {
  publish(n: Notification): Promise<void>;
}
