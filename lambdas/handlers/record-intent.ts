// Task "Snapshot pre-state": read the environment and write pre-state.json before any change.

import { eksKube } from '#core/kube';
import { Steps } from '#core/steps';
import { snapshotPreState } from '#core/workflow-steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('snapshot-pre-state', Steps.snapshotPreState, snapshotPreState, {
  kube: eksKube(),
});
