// Task "Prepare": validate the request, resolve the environment, read its records and state,
// preflight, then take the lock.
import { eksKube } from '#core/clients/kubernetes';
import { prepare } from '#core/run/prepare';
import { Steps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('prepare', Steps.prepare, (deps, event) => prepare(deps, event), {
  kube: eksKube(),
});
