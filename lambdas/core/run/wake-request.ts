// Owns the contract of a wake on demand carried by an up's run request (issue 19): how long it
// lasts and who asked, from where. The deployed wake endpoint (and `cim wake --remote`) only
// start the environment workflow with it; the workflow records it. Untrusted like any input:
// bounded and printable, so records and terminals show what was sent.
import * as z from 'zod';
import { unprintableCharacter } from '../errors.ts';
import { MAX_WAKE_MINUTES } from '../records/wake.ts';

const printable = (what: string, max: number) =>
  z
    .string({ message: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must be at most ${max} characters`)
    .refine(
      (s) => unprintableCharacter(s) === null,
      `${what} must not contain control, bidirectional or invisible characters`,
    );

export const WakeRequester = z
  .object({
    /** The person, as the identity provider names them (or the CLI's user). */
    user: printable('wake.requester.user', 123),
    /** The token's subject, when it came through the endpoint. */
    subject: printable('wake.requester.subject', 255).optional(),
    /** The request's source address and user agent, when it came through the endpoint. */
    address: printable('wake.requester.address', 64).optional(),
    userAgent: printable('wake.requester.userAgent', 512).optional(),
  })
  .strict();
export type WakeRequester = z.output<typeof WakeRequester>;

export const WakeRequest = z
  .object({
    minutes: z
      .number({ message: 'wake.minutes must be a number' })
      .int('wake.minutes must be whole minutes')
      .min(1, 'wake.minutes must be at least 1')
      .max(MAX_WAKE_MINUTES, `wake.minutes must be at most ${MAX_WAKE_MINUTES}`),
    source: z.enum(['cli', 'http'], { message: 'wake.source must be cli or http' }),
    requester: WakeRequester,
  })
  .strict();
export type WakeRequest = z.output<typeof WakeRequest>;
