// Owns the format of a Distributed Map's exported results, as Step Functions writes them with
// `ResultWriter` (Transformation NONE, OutputType JSON; AWS Step Functions Developer Guide,
// "ResultWriter (Map)"): the Map state's output is { MapRunArn, ResultWriterDetails: { Bucket,
// Key } }, Key naming `{Prefix}/{map run id}/manifest.json`; the manifest lists the result files
// by status (SUCCEEDED_n.json, FAILED_n.json, PENDING_n.json), each a JSON array of child
// execution descriptions whose Input and Output are JSON strings. The fleet's and the guard's
// summaries read them here; the local adapter (cli/engine/distributed-map.ts) writes them.
import { resolveEnvironment } from '../config/catalog.ts';
import type { Deps } from '../contracts.ts';
import { CimError, ErrorNames } from '../errors.ts';
import { MAX_MAP_FILE_BYTES, type StateStore } from '../gateways/store.ts';

/** What a Distributed Map with a ResultWriter returns as its result. */
export interface MapRunOutput {
  MapRunArn: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

export type MapResultStatus = 'SUCCEEDED' | 'FAILED' | 'PENDING';

export interface MapResultManifest {
  DestinationBucket: string;
  MapRunArn: string;
  ResultFiles: Record<MapResultStatus, { Key: string; Size: number }[]>;
}

/** One child execution in a result file. */
export interface MapResultEntry {
  ExecutionArn?: string;
  Name?: string;
  StateMachineArn?: string;
  Status: string;
  StartDate?: string;
  StopDate?: string;
  /** JSON text of the item. */
  Input?: string;
  InputDetails?: { Included: boolean };
  /** JSON text of the item processor's output (SUCCEEDED only). */
  Output?: string;
  OutputDetails?: { Included: boolean };
  Error?: string;
  Cause?: string;
}

/** One item's outcome: its input (the item), and its output or the error that ended it. */
export interface MapItemResult {
  status: MapResultStatus;
  item: unknown;
  output?: unknown;
  error?: { Error: string; Cause: string };
  executionArn?: string;
}

export function isMapRunOutput(v: unknown): v is MapRunOutput {
  const d = (v as { ResultWriterDetails?: { Bucket?: unknown; Key?: unknown } } | null)?.ResultWriterDetails;
  return typeof d?.Bucket === 'string' && typeof d.Key === 'string';
}

/**
 * The state store of a bucket named in a Map's output: the configuration's environments name
 * the buckets this tool may read, with their regions; any other bucket is refused.
 */
export function storeForBucket(
  deps: Pick<Deps, 'config' | 'configSource' | 'store'>,
  bucket: string,
): StateStore {
  for (const key of Object.keys(deps.config.environments).sort()) {
    const [customer = '', environment = ''] = key.split('/');
    const env = resolveEnvironment(deps.config, customer, environment, deps.configSource);
    if (env.bucket === bucket) return deps.store(env);
  }
  throw new CimError(
    ErrorNames.InvalidInput,
    `bucket "${bucket}" is not the state bucket of any configured environment; a fleet's item list and results live in the state bucket of its first environment`,
  );
}

function parseJsonText(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Every item's outcome from a map run's exported results: the manifest, then each result file. */
export async function readMapResults(store: StateStore, manifestKey: string): Promise<MapItemResult[]> {
  const manifest = (await store.getJson(manifestKey))?.json as MapResultManifest | undefined;
  if (!manifest?.ResultFiles)
    throw new CimError(
      ErrorNames.StateRecordInvalid,
      `s3://${store.bucket}/${manifestKey} is missing or is not a map run manifest (ResultFiles): the Distributed Map's results cannot be read`,
    );
  const out: MapItemResult[] = [];
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    for (const file of manifest.ResultFiles[status] ?? []) {
      const entries = (await store.getJson(file.Key, { maxBytes: MAX_MAP_FILE_BYTES }))?.json;
      if (!Array.isArray(entries))
        throw new CimError(
          ErrorNames.StateRecordInvalid,
          `s3://${store.bucket}/${file.Key} (listed in ${manifestKey}) is missing or is not a JSON array of results`,
        );
      for (const e of entries as MapResultEntry[]) {
        out.push({
          status,
          item: parseJsonText(e.Input),
          ...(status === 'SUCCEEDED' ? { output: parseJsonText(e.Output) } : {}),
          ...(status !== 'SUCCEEDED'
            ? {
                error: {
                  Error: e.Error ?? (status === 'PENDING' ? 'States.MapRunNotStarted' : 'States.Runtime'),
                  Cause:
                    e.Cause ??
                    (status === 'PENDING'
                      ? 'the map run ended before this item started'
                      : 'the item processor failed'),
                },
              }
            : {}),
          ...(e.ExecutionArn ? { executionArn: e.ExecutionArn } : {}),
        });
      }
    }
  }
  return out;
}
