// Task "Prepare": validate the request, resolve the environment, read its records and state,
// preflight, then take the lock (a wake that runs no up: Prepare's answer, no lock).
import { eksKube } from '#core/clients/kubernetes';
import { prepareStep } from '#core/run/prepare';
import { Steps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('prepare', Steps.prepare, (deps, event) => prepareStep(deps, event), {
  kube: eksKube(),
});
