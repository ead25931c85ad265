// Task "Select environments": validate the fleet request and name one child run per environment.
import { selectFleet } from '#core/fleet';
import { FleetSteps } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask('fleet-select', FleetSteps.select, (deps, event) =>
  selectFleet(deps, event.input),
);
