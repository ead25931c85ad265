// Task tokens on the local engine, which runs a `.waitForTaskToken` Task as a plain call and
// has no `$$.Task.Token`: each waiting Task gets a token here, and waits until someone (the
// database event function, given this object as its `taskTokens`) completes it, or until a
// test or the bench times it out as Step Functions would after the Task's timeout.
import type { TaskTokens } from '#core/gateways/task-tokens';

interface Waiting {
  state: string;
  resolve: (output: unknown) => void;
  reject: (err: Error) => void;
}

export class LocalTaskTokens implements TaskTokens {
  private readonly waiting = new Map<string, Waiting>();
  private next = 0;

  /**
   * `onWaiting`: called once a Task waits (its function has stored the token): tests deliver
   * events here. `tokenLength`: pad each token to this many characters (AWS's are up to 2,048).
   */
  constructor(
    private readonly onWaiting?: (state: string, token: string, tokens: LocalTaskTokens) => void,
    private readonly tokenLength = 0,
  ) {}

  /** A new token for `state`, and the promise the Task waits on. */
  open(state: string): { token: string; done: Promise<unknown> } {
    const token = `local-task-token-${++this.next}-`.padEnd(this.tokenLength, 'x');
    const done = new Promise<unknown>((resolve, reject) => {
      this.waiting.set(token, { state, resolve, reject });
    });
    // A run that ended otherwise leaves nobody awaiting it: close() must not be an unhandled rejection.
    done.catch(() => undefined);
    return { token, done };
  }

  /** The Task's function has run: the Task now waits for its token. */
  waits(state: string, token: string): void {
    if (this.waiting.has(token)) this.onWaiting?.(state, token, this);
  }

  async succeed(token: string, output: Record<string, unknown>): Promise<'sent' | 'expired'> {
    const w = this.waiting.get(token);
    if (!w) return 'expired';
    this.waiting.delete(token);
    w.resolve(output);
    return 'sent';
  }

  /** Ends the wait with States.Timeout, as Step Functions does when the Task's timeout passes. */
  timeOut(token: string): void {
    const w = this.waiting.get(token);
    if (!w) return;
    this.waiting.delete(token);
    const err = new Error(`${w.state}: no task token response before the timeout`);
    err.name = 'States.Timeout';
    w.reject(err);
  }

  /** Any wait left open (a run that ended otherwise): ends it, so nothing dangles. */
  close(): void {
    for (const token of [...this.waiting.keys()]) this.timeOut(token);
  }
}
