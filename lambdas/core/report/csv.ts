// Owns savings.csv (issue 18): one row per database, workload and node group, RFC 4180 (CRLF,
// fields quoted when they hold a comma, a quote or a line break). Names come from records and
// end up in a spreadsheet, so a text cell that a spreadsheet would read as a formula is
// prefixed with a quote (OWASP's CSV injection advice); numbers are written by us and left as is.
import type { ReportModel } from './model.ts';

export const SAVINGS_CSV_HEADER = [
  'type',
  'customer',
  'environment',
  'name',
  'detail',
  'instances',
  'hours_asleep',
  'instance_hours',
  'vcpu_hours',
  'gib_hours',
  'usd_estimate',
  'still_paying_usd',
] as const;

type Cell = string | number | null;

/** A text cell: guarded against formulas, then quoted when RFC 4180 needs it. */
export function csvText(value: string): string {
  const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

function cell(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  return csvText(value);
}

export function renderSavingsCsv(model: ReportModel): string {
  const { databases, workloads, nodegroups } = model.savings.facts;
  const rows: Cell[][] = [
    ...databases.map((d) => [
      'database',
      d.customer,
      d.environment,
      d.identifier,
      d.engine,
      d.instances.map((i) => `${i.identifier}:${i.instanceClass ?? 'unknown'}:${i.deployment}`).join(' '),
      d.hoursAsleep,
      d.instanceHours,
      null,
      null,
      d.usd,
      d.stillPayingUsd,
    ]),
    ...workloads.map((w) => [
      'workload',
      w.customer,
      w.environment,
      `${w.namespace}/${w.name}`,
      w.kind,
      w.replicas,
      w.hoursAsleep,
      null,
      w.vcpuHours,
      w.gibHours,
      null,
      null,
    ]),
    ...nodegroups.map((n) => [
      'nodegroup',
      n.customer,
      n.environment,
      n.name,
      n.instanceTypes.join(' '),
      null,
      n.hoursAsleep,
      n.instanceHours,
      null,
      null,
      null,
      null,
    ]),
  ];
  return [[...SAVINGS_CSV_HEADER], ...rows].map((r) => `${r.map(cell).join(',')}\r\n`).join('');
}
