// Runs a Distributed Map (ItemProcessor.ProcessorConfig.Mode DISTRIBUTED, with an S3 JSON
// ItemReader and a ResultWriter) on aws-local-stepfunctions, which accepts such a Map but fails
// on ItemReader and ignores ResultWriter (STACK-NOTES "Fleet on the local engine"). Before the
// engine sees the definition, each such Map becomes a Task of the same name whose Parameters
// are the Map's reader and writer Parameters (so the engine resolves their paths); its local
// handler does what Step Functions does for a map run:
// - reads the items from S3 (s3:getObject, a JSON array) through the deps' S3 client;
// - runs every item as its own child execution of the item processor, at most MaxConcurrency
//   at once, the processor's Tasks mapped to the same local handlers;
// - fails with States.ExceedToleratedFailureThreshold when more items failed than tolerated
//   (the items not started yet are PENDING);
// - writes the results as AWS does (manifest.json, SUCCEEDED_0.json, FAILED_0.json,
//   PENDING_0.json under {Prefix}/{map run id}/; format in lambdas/core/fleet/map-results.ts) and
//   returns { MapRunArn, ResultWriterDetails: { Bucket, Key } }.
// Works against any S3 the deps reach: the memory bucket of the fast tier, moto.
import { randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { Deps } from '#core/contracts';
import type {
  MapResultEntry,
  MapResultManifest,
  MapResultStatus,
  MapRunOutput,
} from '#core/fleet/map-results';
import { storeForBucket } from '#core/fleet/map-results';
import { MAX_MAP_FILE_BYTES } from '#core/gateways/store';
import { derivedDefinition, engineValidation } from './definitions.ts';
import type { EventLog } from './local-environment.ts';

type Json = Record<string, unknown>;
type Handler = (input: unknown) => Promise<unknown>;

/** The Resource of the Task that stands in for a Distributed Map (never called: the handler is mapped by state name). */
const LOCAL_MAP_RESOURCE = 'arn:aws:lambda:us-east-1:000000000000:function:cim-local-distributed-map';

export interface DistributedMapSpec {
  name: string;
  label: string;
  processor: Json;
  maxConcurrency: number;
  toleratedFailurePercentage: number;
  toleratedFailureCount: number | null;
}

export interface LocalDefinition {
  definition: Json;
  maps: Map<string, DistributedMapSpec>;
}

class LocalAdapterError extends Error {
  constructor(state: string, what: string) {
    super(
      `Distributed Map "${state}": ${what} is not supported by the local adapter (cli/engine/distributed-map.ts)`,
    );
    this.name = 'InvalidDefinition';
  }
}

/** An error whose name is the Step Functions error string (the engine's Catch matches on it). */
function statesError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

const rewritten = new WeakMap<object, LocalDefinition>();

/**
 * The definition with each top-level Distributed Map replaced by a local Task (same name,
 * transitions, ResultPath, Retry and Catch), and what the handler of each needs.
 */
export function forLocalDistributedMaps(definition: Json): LocalDefinition {
  const cached = rewritten.get(definition);
  if (cached) return cached;
  const states = definition.States as Record<string, Json> | undefined;
  const maps = new Map<string, DistributedMapSpec>();
  const names = Object.entries(states ?? {})
    .filter(
      ([, s]) =>
        s.Type === 'Map' &&
        ((s.ItemProcessor as Json | undefined)?.ProcessorConfig as Json | undefined)?.Mode === 'DISTRIBUTED',
    )
    .map(([n]) => n);
  if (names.length === 0) {
    const same = { definition, maps };
    rewritten.set(definition, same);
    return same;
  }
  const copy = structuredClone(definition);
  const copyStates = copy.States as Record<string, Json>;
  for (const name of names) {
    const s = copyStates[name] as Json;
    for (const unsupported of [
      'ItemSelector',
      'Parameters',
      'ItemBatcher',
      'ItemsPath',
      'ToleratedFailurePercentagePath',
      'ToleratedFailureCountPath',
      'ResultSelector',
    ])
      if (s[unsupported] !== undefined) throw new LocalAdapterError(name, unsupported);
    const reader = s.ItemReader as Json | undefined;
    if (
      reader?.Resource !== 'arn:aws:states:::s3:getObject' ||
      (reader.ReaderConfig as Json | undefined)?.InputType !== 'JSON'
    )
      throw new LocalAdapterError(name, 'an ItemReader other than s3:getObject of a JSON file');
    const writer = s.ResultWriter as Json | undefined;
    if (writer?.Resource !== 'arn:aws:states:::s3:putObject' || writer.WriterConfig !== undefined)
      throw new LocalAdapterError(name, 'a ResultWriter other than s3:putObject (without WriterConfig)');
    const { ProcessorConfig: _mode, ...processor } = s.ItemProcessor as Json;
    maps.set(name, {
      name,
      label: typeof s.Label === 'string' ? s.Label : name.replace(/[^A-Za-z0-9_-]/g, ''),
      processor: derivedDefinition(definition, processor),
      maxConcurrency: typeof s.MaxConcurrency === 'number' ? s.MaxConcurrency : 0,
      toleratedFailurePercentage:
        typeof s.ToleratedFailurePercentage === 'number' ? s.ToleratedFailurePercentage : 0,
      toleratedFailureCount: typeof s.ToleratedFailureCount === 'number' ? s.ToleratedFailureCount : null,
    });
    const task: Json = {
      Type: 'Task',
      Resource: LOCAL_MAP_RESOURCE,
      // A Map state has no timeout of its own on AWS (the execution's bounds it), while the
      // engine gives a Task without TimeoutSeconds the ASL spec's 60 s: a fleet longer than a
      // minute ended in States.Timeout. The engine arms a setTimeout, which holds at most
      // 2^31 - 1 ms (a larger value fires at once): about 24.8 days, unless the Map sets less.
      TimeoutSeconds: typeof s.TimeoutSeconds === 'number' ? s.TimeoutSeconds : LOCAL_MAP_TIMEOUT_SECONDS,
      Parameters: {
        reader: reader.Parameters,
        writer: writer.Parameters,
        ...(typeof s.MaxConcurrencyPath === 'string' ? { 'maxConcurrency.$': s.MaxConcurrencyPath } : {}),
      },
    };
    for (const k of ['Comment', 'InputPath', 'OutputPath', 'ResultPath', 'Next', 'End', 'Retry', 'Catch'])
      if (s[k] !== undefined) task[k] = s[k];
    copyStates[name] = task;
  }
  const out = { definition: derivedDefinition(definition, copy), maps };
  rewritten.set(definition, out);
  return out;
}

/** The longest timeout the engine can arm (setTimeout's 2^31 - 1 ms). */
export const LOCAL_MAP_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export interface DistributedMapRunOptions {
  deps: Deps;
  /** The handlers of the processor's Task states, by state name. */
  handlers: Record<string, Handler>;
  /** The parent execution's id (names the map run and its child executions). */
  executionId: string;
  retryOverrides?: Record<string, number>;
  waitOverrides?: Record<string, number>;
  /** Every event of every child execution (tests measure state sizes with it). */
  onEvent?: (e: EventLog, childExecution: string) => void;
}

const processorMachines = new WeakMap<object, StateMachine>();

function processorMachine(spec: DistributedMapSpec): StateMachine {
  let m = processorMachines.get(spec);
  if (!m) {
    // biome-ignore lint/suspicious/noExplicitAny: the engine takes its own ASL type; ours is plain JSON
    m = new StateMachine(spec.processor as any, { validationOptions: engineValidation(spec.processor) });
    processorMachines.set(spec, m);
  }
  return m;
}

/** The Map's items: a JSON array read from S3, or States.ItemReaderFailed. */
async function readItems(deps: Deps, reader: { Bucket: string; Key: string }): Promise<unknown[]> {
  const readStore = storeForBucket(deps, reader.Bucket);
  let items: unknown;
  try {
    items = (await readStore.getJson(reader.Key, { maxBytes: MAX_MAP_FILE_BYTES }))?.json;
  } catch (err) {
    throw statesError(
      'States.ItemReaderFailed',
      `s3://${reader.Bucket}/${reader.Key}: ${(err as Error).message}`,
    );
  }
  if (!Array.isArray(items))
    throw statesError(
      'States.ItemReaderFailed',
      `s3://${reader.Bucket}/${reader.Key} is missing or is not a JSON array of items`,
    );
  return items;
}

/** One map run in progress: its items, its result entries, how many failed, the next item to start. */
interface MapRunState {
  spec: DistributedMapSpec;
  o: DistributedMapRunOptions;
  machine: StateMachine;
  /** The parent execution's name: the child executions are named under it. */
  parent: string;
  items: unknown[];
  entries: Record<MapResultStatus, MapResultEntry[]>;
  tolerated: number;
  failed: number;
  next: number;
}

/** Runs item `index` as its own child execution and adds its SUCCEEDED or FAILED entry. */
async function runItem(run: MapRunState, index: number): Promise<void> {
  const { spec, o, parent } = run;
  const item = run.items[index];
  const name = randomUUID();
  const executionArn = `arn:aws:states:local:000000000000:execution:${parent}/${spec.label}:${name}`;
  const startDate = new Date().toISOString();
  const execution = run.machine.run(item as never, {
    overrides: {
      // biome-ignore lint/suspicious/noExplicitAny: JSON in, JSON out
      taskResourceLocalHandlers: o.handlers as any,
      ...(o.retryOverrides ? { retryIntervalOverrides: o.retryOverrides } : {}),
      ...(o.waitOverrides ? { waitTimeOverrides: o.waitOverrides } : {}),
    },
    context: { Execution: { Id: executionArn, Name: name, StartTime: startDate } },
  });
  let failure: { Error?: string; Cause?: unknown } | undefined;
  const drain = (async () => {
    for await (const e of execution.eventLogs as AsyncGenerator<EventLog>) {
      if (e.type === 'ExecutionFailed') failure = e as { Error?: string; Cause?: unknown };
      o.onEvent?.(e, executionArn);
    }
  })();
  const base = {
    ExecutionArn: executionArn,
    Name: name,
    StartDate: startDate,
    Input: JSON.stringify(item),
    InputDetails: { Included: true },
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
  };
  try {
    const output = await execution.result;
    await drain;
    run.entries.SUCCEEDED.push({
      ...base,
      Status: 'SUCCEEDED',
      StopDate: new Date().toISOString(),
      Output: JSON.stringify(output),
      OutputDetails: { Included: true },
    });
  } catch (err) {
    await drain.catch(() => undefined);
    if (!(err instanceof ExecutionError)) throw err;
    run.failed++;
    run.entries.FAILED.push({
      ...base,
      Status: 'FAILED',
      StopDate: new Date().toISOString(),
      Error: failure?.Error ?? err.name,
      Cause: String(failure?.Cause ?? err.message),
    });
  }
}

/** Runs the items, `concurrency` at once, until all ran or too many failed; the rest are PENDING. */
async function runItems(run: MapRunState, concurrency: number): Promise<void> {
  const { items } = run;
  const worker = async () => {
    while (run.next < items.length && run.failed <= run.tolerated) await runItem(run, run.next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  for (let i = run.next; i < items.length; i++)
    run.entries.PENDING.push({
      Status: 'PENDING',
      Input: JSON.stringify(items[i]),
      InputDetails: { Included: true },
    });
}

/** The results, as ResultWriter exports them; returns the manifest's key. */
async function writeResults(
  deps: Deps,
  writer: { Bucket: string; Prefix?: string },
  mapRunId: string,
  mapRunArn: string,
  entries: Record<MapResultStatus, MapResultEntry[]>,
): Promise<string> {
  const writeStore = storeForBucket(deps, writer.Bucket);
  const prefix = `${writer.Prefix ? `${writer.Prefix.replace(/\/+$/, '')}/` : ''}${mapRunId}/`;
  const manifest: MapResultManifest = {
    DestinationBucket: writer.Bucket,
    MapRunArn: mapRunArn,
    ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [] },
  };
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    if (entries[status].length === 0) continue;
    const key = `${prefix}${status}_0.json`;
    await writeStore.putJson(key, entries[status]);
    manifest.ResultFiles[status].push({
      Key: key,
      Size: Buffer.byteLength(`${JSON.stringify(entries[status], null, 2)}\n`),
    });
  }
  const manifestKey = `${prefix}manifest.json`;
  await writeStore.putJson(manifestKey, manifest);
  return manifestKey;
}

/** The local handler of one Distributed Map: read, run every item, write the results. */
export function distributedMapHandler(spec: DistributedMapSpec, o: DistributedMapRunOptions): Handler {
  return async (raw) => {
    const p = raw as {
      reader: { Bucket: string; Key: string };
      writer: { Bucket: string; Prefix?: string };
      maxConcurrency?: number;
    };
    const items = await readItems(o.deps, p.reader);
    const mapRunId = randomUUID();
    const parent = o.executionId.split(':').pop() ?? 'local';
    const mapRunArn = `arn:aws:states:local:000000000000:mapRun:${parent}/${spec.label}:${mapRunId}`;
    const machine = processorMachine(spec);
    const limit = p.maxConcurrency ?? spec.maxConcurrency;
    const concurrency = limit > 0 ? limit : items.length;
    const run: MapRunState = {
      spec,
      o,
      machine,
      parent,
      items,
      entries: { SUCCEEDED: [], FAILED: [], PENDING: [] },
      tolerated:
        spec.toleratedFailureCount ?? Math.floor((items.length * spec.toleratedFailurePercentage) / 100),
      failed: 0,
      next: 0,
    };
    await runItems(run, concurrency);
    const manifestKey = await writeResults(o.deps, p.writer, mapRunId, mapRunArn, run.entries);
    if (run.failed > run.tolerated)
      throw statesError(
        'States.ExceedToleratedFailureThreshold',
        `map run ${mapRunArn}: ${run.failed} of ${items.length} items failed, more than the ${run.tolerated} tolerated`,
      );
    const out: MapRunOutput = {
      MapRunArn: mapRunArn,
      ResultWriterDetails: { Bucket: p.writer.Bucket, Key: manifestKey },
    };
    return out;
  };
}

/** Handlers for every Distributed Map of a rewritten definition, by state name. */
export function localDistributedMapHandlers(
  local: LocalDefinition,
  o: DistributedMapRunOptions,
): Record<string, Handler> {
  return Object.fromEntries(
    [...local.maps.values()].map((spec) => [spec.name, distributedMapHandler(spec, o)]),
  );
}
