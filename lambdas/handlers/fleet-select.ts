// Task "Select environments": validate the fleet request, claim its build, write the item list to S3.
import { selectFleet } from '#core/fleet/fleet';
import { FleetSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('fleet-select', FleetSteps.select, (deps, event) =>
  selectFleet(deps, event.input, typeof event.executionId === 'string' ? event.executionId : undefined),
);
