// Owns the report page (issue 18): one self-contained index.html rendered from the ReportModel.
// No script, font, stylesheet, image or request of any kind (a Content-Security-Policy of
// `default-src 'none'` says so to the browser too), so the page reads the same from a private
// bucket, a file:// URL or a mail attachment. Every chart comes with its table; the themes
// follow the system; it prints on A4. Names, reasons and keys come from records that anyone
// with write access to the bucket shapes, so every text from the model is escaped.
import type {
  DriftRow,
  EnvironmentNow,
  EnvironmentNowRow,
  ReportModel,
  RunOutcome,
  RunRow,
  TimelineRow,
  Trigger,
} from './model.ts';

const STATES: EnvironmentNow[] = ['asleep', 'awake', 'waking', 'failed', 'drifted', 'held'];
const OUTCOMES: RunOutcome[] = ['succeeded', 'failed', 'refused', 'skipped'];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text and attribute values alike: the five characters that can end either. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const e = escapeHtml;

/** Grouped, at most `digits` decimals, in one fixed locale so the page never depends on the host. */
export function formatNumber(n: number, digits = 1): string {
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(n);
}

export function formatUsd(n: number): string {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(n);
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A number with its exact value kept in `<data value>`, so readers (and tests) need no parsing. */
function num(n: number, text = formatNumber(n)): string {
  return `<data value="${e(String(n))}">${e(text)}</data>`;
}

function time(iso: string | null): string {
  if (iso === null) return '<span class="muted">—</span>';
  const shown = iso.replace('T', ' ').replace(/(:\d\d)(\.\d+)?Z$/, '$1 UTC');
  return `<time datetime="${e(iso)}">${e(shown)}</time>`;
}

function envName(customer: string, environment: string): string {
  return `${customer}/${environment}`;
}

function runSeconds(run: RunRow): number | null {
  if (run.endedAt === null) return null;
  return (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000;
}

function table(caption: string, head: string[], rows: string[][], empty = 'None.'): string {
  if (rows.length === 0) return `<p class="empty">${e(caption)}: ${e(empty)}</p>`;
  return [
    `<table><caption>${e(caption)}</caption>`,
    `<thead><tr>${head.map((h) => `<th scope="col">${e(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody>`,
    '</table>',
  ].join('\n');
}

/** Ids made from positions, never from names: a name is untrusted and need not be a valid id. */
class Anchors {
  private readonly ids = new Map<string, string>();
  constructor(timelines: TimelineRow[]) {
    timelines.forEach((t, i) => {
      this.ids.set(envName(t.customer, t.environment), `env-${i}`);
    });
  }
  link(customer: string, environment: string): string {
    const name = e(envName(customer, environment));
    const id = this.ids.get(envName(customer, environment));
    return id === undefined ? name : `<a href="#${id}">${name}</a>`;
  }
  id(customer: string, environment: string): string | undefined {
    return this.ids.get(envName(customer, environment));
  }
}

function fleetSection(model: ReportModel, a: Anchors): string {
  const { counts, environments } = model.fleet;
  const tiles = STATES.map(
    (s) =>
      `<li class="tile state-${s}"><a href="#fleet-${s}" data-count="${s}">${num(counts[s], String(counts[s]))}<span>${s}</span></a></li>`,
  ).join('\n');
  const lists = STATES.map((s) => {
    const rows = environments
      .filter((r) => r.state === s)
      .map((r: EnvironmentNowRow) => [a.link(r.customer, r.environment), time(r.since), e(r.detail ?? '')]);
    return `<section id="fleet-${s}" class="list">${table(`Environments ${s}`, ['environment', 'since', 'detail'], rows)}</section>`;
  }).join('\n');
  return `<section id="fleet"><h2>Fleet now</h2><ul class="tiles">${tiles}</ul>\n${lists}</section>`;
}

function lastNightSection(model: ReportModel, a: Anchors): string {
  const n = model.lastNight;
  const counts = OUTCOMES.map(
    (o) =>
      `<li class="tile outcome-${o}" data-outcome="${o}">${num(n.counts[o], String(n.counts[o]))}<span>${o}</span></li>`,
  ).join('\n');
  const dur = (s: number | null, label: string) =>
    `<dt>${label}</dt><dd data-duration="${label}">${s === null ? '<span class="muted">no finished run</span>' : num(s, formatDuration(s))}</dd>`;
  const slowest = n.slowest.map((r) => {
    const s = runSeconds(r);
    return [
      a.link(r.customer, r.environment),
      e(r.action),
      s === null ? '<span class="muted">running</span>' : num(s, formatDuration(s)),
      time(r.startedAt),
      e(r.trigger),
      e(r.outcome),
    ];
  });
  return `<section id="last-night"><h2>Last night</h2>
<p class="muted">From ${time(n.window.from)} to ${time(n.window.to)}.</p>
<ul class="tiles">${counts}</ul>
<dl class="durations">${dur(n.p50Seconds, 'p50')}${dur(n.p95Seconds, 'p95')}</dl>
${table('Slowest environments', ['environment', 'action', 'duration', 'started', 'trigger', 'outcome'], slowest)}
</section>`;
}

function problemsSection(model: ReportModel, a: Anchors): string {
  const rows = model.problems.map((r) => [
    `<span class="badge outcome-${e(r.outcome)}">${e(r.outcome)}</span>`,
    a.link(r.customer, r.environment),
    e(r.action),
    time(r.startedAt),
    `${e(r.trigger)} <span class="muted">${e(r.user)}</span>`,
    `<span class="reason">${e(r.reason ?? '')}</span>`,
    `<code>${e(r.recordKey)}</code>`,
  ]);
  return `<section id="problems"><h2>Failures and refusals</h2>
${table(`Failures and refusals (${model.problems.length})`, ['outcome', 'environment', 'action', 'started', 'trigger', 'reason', 'record key'], rows)}
</section>`;
}

const DRIFT_LABEL: Record<DriftRow['kind'], string> = {
  'database-available-while-asleep': 'database available while it should sleep',
  'workloads-changed-while-down': 'workloads changed while down',
  'on-hold': 'on hold',
};

function driftSection(model: ReportModel, a: Anchors): string {
  const rows = model.drift.map((d) => [
    a.link(d.customer, d.environment),
    e(DRIFT_LABEL[d.kind] ?? d.kind),
    `${e(d.detail)}${d.resolvedAt ? ` <span class="muted">(put right ${time(d.resolvedAt)})</span>` : ''}${d.recordKey ? ` <code>${e(d.recordKey)}</code>` : ''}`,
    time(d.since),
  ]);
  return `<section id="drift"><h2>Drift</h2>
<p class="muted">Where the desired state differs from the actual one, as far as the records show it: workloads the last up found changed while down (its action record), a parked database the seven-day guard found started again (its keep-stopped record) or a recorded status saw available (its pre-state), environments on hold. Not visible here: RDS start events (not recorded), a database started and stopped again between two records, workloads changed while an environment is still down (seen at its next up).</p>
${table(`Drift (${model.drift.length})`, ['environment', 'what', 'detail', 'since'], rows)}
</section>`;
}

const W = 720;
const LABEL = 0;
const ROW = 22;

/** Days drawn on the timelines: one grid line each, so bounded whatever the model says. */
function gridDays(model: ReportModel): number {
  const days = Math.round(model.range.days);
  return Number.isFinite(days) ? Math.min(366, Math.max(1, days)) : 1;
}

/** Manual (CLI) and guard runs and failures each have their own shape, so colour is never the only cue. */
function marker(x: number, y: number, trigger: Trigger, outcome: RunOutcome): string {
  // The model comes from JSON: its union types are not a promise about the text.
  const cls = e(`run trigger-${trigger} outcome-${outcome}`);
  if (outcome === 'failed') {
    return `<path class="${cls}" d="M${x - 4} ${y - 4}L${x + 4} ${y + 4}M${x + 4} ${y - 4}L${x - 4} ${y + 4}"/>`;
  }
  // A wake on demand is a person's run too (cim wake): the same shape.
  if (trigger === 'cli' || trigger === 'wake')
    return `<path class="${cls}" d="M${x} ${y - 5}L${x + 5} ${y + 4}L${x - 5} ${y + 4}Z"/>`;
  if (trigger === 'guard')
    return `<path class="${cls}" d="M${x} ${y - 5}L${x + 5} ${y}L${x} ${y + 5}L${x - 5} ${y}Z"/>`;
  return `<circle class="${cls}" cx="${x}" cy="${y}" r="3"/>`;
}

function timelineSvg(model: ReportModel, t: TimelineRow, title: string): string {
  const from = Date.parse(model.range.from);
  const span = Math.max(1, Date.parse(model.range.to) - from);
  /** Null for a time that does not parse: left out, since a NaN attribute is an error in the browser. */
  const x = (iso: string): number | null => {
    const f = Math.min(1, Math.max(0, (Date.parse(iso) - from) / span));
    return Number.isFinite(f) ? Math.round((LABEL + f * (W - LABEL)) * 10) / 10 : null;
  };
  const days = gridDays(model);
  // One path for the grid and one for the asleep intervals: 2,000 environments × 30 nights
  // stay a page of a few MiB (an element with a title per interval made it ~30 MiB).
  const round = (n: number) => Math.round(n * 10) / 10;
  const grid = Array.from(
    { length: days + 1 },
    (_, i) => `M${round(LABEL + (i / days) * (W - LABEL))} 0V${ROW}`,
  );
  const asleep = t.asleep.flatMap((i) => {
    const x1 = x(i.from);
    const x2 = x(i.to);
    if (x1 === null || x2 === null) return [];
    const w = round(Math.max(0.5, x2 - x1));
    return [`M${x1} 4h${w}v${ROW - 8}h-${w}Z`];
  });
  const asleepTitle = `${t.asleep.length} times asleep, ${formatNumber(hoursIn(t.asleep))} hours`;
  // Scheduled and fleet runs that succeeded are the edges of the asleep intervals already.
  const runs = t.runs
    .filter(
      (r) =>
        r.trigger === 'cli' || r.trigger === 'wake' || r.trigger === 'guard' || r.outcome !== 'succeeded',
    )
    .map((r) => {
      const at = x(r.at);
      if (at === null) return '';
      return `<g>${marker(at, ROW / 2, r.trigger, r.outcome)}<title>${e(`${r.action} ${r.outcome} (${r.trigger}) ${r.at}`)}</title></g>`;
    })
    .join('');
  return [
    `<svg class="timeline" viewBox="0 0 ${W} ${ROW}" width="100%" role="img" aria-label="${e(title)}">`,
    `<path class="grid" d="${grid.join('')}"/>`,
    asleep.length > 0
      ? `<path class="asleep" d="${asleep.join('')}"><title>${e(asleepTitle)}</title></path>`
      : '',
    `${runs}</svg>`,
  ].join('');
}

function hoursIn(intervals: { from: string; to: string }[]): number {
  return intervals.reduce((h, i) => {
    const ms = Date.parse(i.to) - Date.parse(i.from);
    return Number.isFinite(ms) ? h + ms / 3_600_000 : h;
  }, 0);
}

/** Day labels over the timelines, at most about ten so they never overlap. */
function axis(model: ReportModel): string {
  const from = Date.parse(model.range.from);
  const days = gridDays(model);
  if (!Number.isFinite(from)) return '';
  const step = Math.ceil(days / 10);
  const labels: string[] = [];
  for (let i = 0; i < days; i += step) {
    const day = new Date(from + i * 86_400_000).toISOString().slice(5, 10);
    labels.push(`<span style="left:${Math.round((i / days) * 1000) / 10}%">${day}</span>`);
  }
  return labels.join('');
}

function timelinesSection(model: ReportModel, a: Anchors): string {
  const legend = `<span class="legend"><svg viewBox="0 0 14 10" width="14" height="10" aria-hidden="true"><rect class="asleep" x="0" y="1" width="14" height="8"/></svg> asleep
<svg viewBox="-6 -6 12 12" width="12" height="12" aria-hidden="true">${marker(0, 0, 'schedule', 'refused')}</svg> refused or skipped run
<svg viewBox="-6 -6 12 12" width="12" height="12" aria-hidden="true">${marker(0, 0, 'cli', 'succeeded')}</svg> manual run
<svg viewBox="-6 -6 12 12" width="12" height="12" aria-hidden="true">${marker(0, 0, 'guard', 'succeeded')}</svg> guard run
<svg viewBox="-6 -6 12 12" width="12" height="12" aria-hidden="true">${marker(0, 0, 'schedule', 'failed')}</svg> failure</span>`;
  const rows = model.timelines.map((t) => {
    const name = envName(t.customer, t.environment);
    const svg = timelineSvg(model, t, `timeline of ${name}`);
    return `<tr id="${a.id(t.customer, t.environment) ?? ''}"><th scope="row">${e(name)}</th><td class="chart">${svg}</td></tr>`;
  });
  const data = model.timelines.map((t) => {
    const count = (p: (r: TimelineRow['runs'][number]) => boolean) => num(t.runs.filter(p).length);
    return [
      a.link(t.customer, t.environment),
      num(t.asleep.length),
      num(hoursIn(t.asleep)),
      count((r) => r.trigger === 'cli' || r.trigger === 'wake'),
      count((r) => r.trigger === 'guard'),
      count((r) => r.outcome === 'failed'),
      num(t.runs.length),
    ];
  });
  return `<section id="timelines"><h2>Timelines</h2>
<p class="muted">Each environment from ${time(model.range.from)} to ${time(model.range.to)} (${e(String(model.range.days))} days), one grid line a day.</p>
<figure>
<figcaption>${legend}</figcaption>
<table class="timelines"><caption>Timeline of each environment</caption><thead><tr><th scope="col">environment</th><td class="axis">${axis(model)}</td></tr></thead><tbody>${rows.join('\n')}</tbody></table>
${table('The timelines in numbers', ['environment', 'asleep intervals', 'hours asleep', 'manual runs', 'guard runs', 'failures', 'runs'], data)}
</figure>
</section>`;
}

/** Each price the estimate used, with the table it came from and that table's date. */
function pricesUsed(used: ReportModel['savings']['estimate']['prices']['used']): string {
  if (!used || used.length === 0) return '';
  const rows = used.map((u) => [
    `<code>${e(u.key)}</code>`,
    num(u.usd, `$${u.usd}`),
    e(u.unit),
    `${e(u.source)}, <time datetime="${e(u.date)}">${e(u.date)}</time>`,
  ]);
  return table('Prices used, and where each came from', ['price', 'USD', 'per', 'from'], rows);
}

function savingsSection(model: ReportModel, a: Anchors): string {
  const { facts, estimate } = model.savings;
  const totals = `<ul class="tiles facts">
<li class="tile" data-total="databaseInstanceHours">${num(facts.totals.databaseInstanceHours)}<span>database instance hours not run</span></li>
<li class="tile" data-total="vcpuHours">${num(facts.totals.vcpuHours)}<span>vCPU-hours of requests freed</span></li>
<li class="tile" data-total="gibHours">${num(facts.totals.gibHours)}<span>GiB-hours of requests freed</span></li>
<li class="tile" data-total="nodeInstanceHours">${num(facts.totals.nodeInstanceHours)}<span>node instance hours saved</span></li>
</ul>`;
  const usd = (v: number | null) =>
    v === null ? '<span class="no-price">no price</span>' : num(v, formatUsd(v));
  const dbs = facts.databases.map((d) => [
    a.link(d.customer, d.environment),
    e(d.identifier),
    e(d.engine ?? 'unknown'),
    d.instances
      .map((i) => `${e(i.instanceClass ?? 'unknown class')} <span class="muted">${e(i.deployment)}</span>`)
      .join('<br>'),
    num(d.hoursAsleep),
    num(d.instanceHours),
    usd(d.usd),
    usd(d.stillPayingUsd),
  ]);
  const wls = facts.workloads.map((w) => [
    a.link(w.customer, w.environment),
    e(`${w.kind} ${w.namespace}/${w.name}`),
    num(w.replicas),
    num(w.hoursAsleep),
    num(w.vcpuHours),
    num(w.gibHours),
  ]);
  const ngs = facts.nodegroups.map((n) => [
    a.link(n.customer, n.environment),
    e(n.name),
    e(n.instanceTypes.join(', ')),
    num(n.hoursAsleep),
    num(n.instanceHours),
  ]);
  const p = estimate.prices;
  const k8s =
    estimate.kubernetesUsd === null
      ? '<span class="muted">no $/vCPU-h and $/GiB-h assumed</span>'
      : num(estimate.kubernetesUsd, formatUsd(estimate.kubernetesUsd));
  const tool = estimate.toolCost;
  const unpriced = estimate.unpriced;
  return `<section id="savings"><h2>Savings</h2>
<h3>Facts, measured from the records</h3>
${totals}
${table('Databases', ['environment', 'database', 'engine', 'billed instances', 'hours asleep', 'instance hours', 'estimate', 'still paying'], dbs)}
${table('Workloads', ['environment', 'workload', 'replicas', 'hours asleep', 'vCPU-hours', 'GiB-hours'], wls)}
${table('Node groups', ['environment', 'node group', 'instance types', 'hours asleep', 'instance hours'], ngs)}
<h3 id="estimate">Money: an estimate</h3>
<p class="estimate-note">These amounts are an <strong>estimate</strong> computed from list prices and the assumptions below, not a bill.</p>
<dl class="money">
<dt>Databases not run</dt><dd data-usd="databasesUsd">${num(estimate.databasesUsd, formatUsd(estimate.databasesUsd))}</dd>
<dt>Tool's own cost (${num(tool.stateTransitions)} state transitions, ${num(tool.lambdaGbSeconds)} Lambda GB-seconds)</dt><dd data-usd="toolCost">${tool.usd === null ? '<span class="no-price">no price</span>' : `− ${num(tool.usd, formatUsd(tool.usd))}`}</dd>
<dt>Net</dt><dd data-usd="netUsd"><strong>${num(estimate.netUsd, formatUsd(estimate.netUsd))}</strong></dd>
<dt>Still paying while asleep (storage, IOPS, backups)</dt><dd data-usd="stillPayingUsd">${num(estimate.stillPayingUsd, formatUsd(estimate.stillPayingUsd))}</dd>
<dt>Kubernetes: freed requests × $/vCPU-h and $/GiB-h</dt><dd data-usd="kubernetesUsd">${k8s}</dd>
</dl>
<p class="warning">Kubernetes requests freed save money only when the cluster's autoscaler removes nodes; they are not in the net.</p>
<p class="warning">Reserved instances save nothing when stopped: a reserved database's hours are paid for either way.</p>
<p data-unpriced="${e(String(unpriced.count))}">Instances with no price, left out of the total: ${num(unpriced.count)}${unpriced.classes.length > 0 ? ` (${unpriced.classes.map((c) => `<code>${e(c)}</code>`).join(', ')})` : ''}.</p>
<h4>Assumptions</h4>
<ul class="assumptions">${estimate.assumptions.map((s) => `<li>${e(s)}</li>`).join('')}</ul>
<p class="prices">Prices: ${e(p.source)}, taken on <time datetime="${e(p.date)}">${e(p.date)}</time>, in ${e(estimate.currency)}${p.fallback ? `; where it has none: <code>${e(p.fallback)}</code>` : ''}${p.overrides === null ? '' : `; overridden by <code>${e(p.overrides)}</code>`}.</p>
${pricesUsed(p.used)}
</section>`;
}

function exclusionsSection(model: ReportModel): string {
  const rows = model.exclusions.map((x) => [`<code>${e(x.key)}</code>`, e(x.reason)]);
  return `<section id="exclusions"><h2>Left out</h2>
<p data-exclusions="${model.exclusions.length}">${num(model.exclusions.length)} index objects or records left out of this report.</p>
${table('Left out', ['key', 'reason'], rows)}
</section>`;
}

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#59636e;--line:#d1d9e0;--tile:#f6f8fa;--link:#0550ae;
--asleep:#8250df;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--run:#0550ae}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--tile:#151b23;
--link:#4493f8;--asleep:#ab7df8;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--run:#4493f8}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:1rem 1.5rem;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
a{color:var(--link)}
h1{font-size:1.6rem;margin:.2rem 0}h2{border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2rem}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}
.muted{color:var(--muted)}
.tiles{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}
.tile{background:var(--tile);border:1px solid var(--line);border-radius:6px;padding:.4rem .8rem;min-width:7rem}
.tile a{text-decoration:none;color:inherit;display:block}
.tile data{display:block;font-size:1.5rem;font-weight:600}
.tile span{color:var(--muted)}
.state-failed data,.outcome-failed data,.state-drifted data{color:var(--bad)}
.state-asleep data{color:var(--asleep)}.state-awake data,.outcome-succeeded data{color:var(--ok)}
.outcome-refused data,.state-held data{color:var(--warn)}
table{border-collapse:collapse;width:100%;margin:.6rem 0}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{border-bottom:1px solid var(--line);padding:.25rem .4rem;text-align:left;vertical-align:top}
td data{font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,monospace;word-break:break-all}
.reason{white-space:pre-wrap;word-break:break-word}
.badge{border-radius:4px;padding:0 .3rem;border:1px solid currentColor}
.badge.outcome-failed{color:var(--bad)}.badge.outcome-refused{color:var(--warn)}
.durations{display:flex;gap:1rem}.durations dt{font-weight:600}.durations dd{margin:0 1rem 0 .3rem}
.list{margin-left:.5rem}.list table,.list p{margin:.2rem 0}
table.timelines th{width:12rem;white-space:nowrap;font-weight:normal}
td.chart{padding:0;width:100%}
figure{margin:0}
td.axis{position:relative;height:1.4em;padding:0}
td.axis span{position:absolute;top:.1rem;font-size:11px;color:var(--muted);padding-left:2px;border-left:1px solid var(--line)}
svg.timeline{display:block;height:auto}
.grid{stroke:var(--line);stroke-width:.5}
.asleep{fill:var(--asleep);opacity:.55}
.run{fill:var(--run);stroke:var(--run)}
.run.outcome-failed{stroke:var(--bad);stroke-width:2;fill:none}
.run.outcome-refused{fill:var(--warn);stroke:var(--warn)}
.legend svg{vertical-align:middle;margin-left:.6rem}
.money{display:grid;grid-template-columns:max-content max-content;gap:.2rem 1.5rem}
.money dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}
.estimate-note,.warning{border-left:4px solid var(--warn);padding:.3rem .6rem;background:var(--tile)}
.no-price{color:var(--warn);font-style:italic}
footer{margin-top:2rem;color:var(--muted)}
@page{size:A4;margin:14mm 12mm}
@media print{
:root{color-scheme:light;--bg:#fff;--fg:#000;--muted:#444;--line:#bbb;--tile:#fff;--link:#000}
body{max-width:none;padding:0;font-size:10pt}
nav{display:none}
h2{break-after:avoid}
tr,.tile,figure{break-inside:avoid}
thead{display:table-header-group}
a{text-decoration:none}
}`;

export function renderReportPage(model: ReportModel): string {
  const a = new Anchors(model.timelines);
  const sections: [string, string][] = [
    ['fleet', 'Fleet now'],
    ['last-night', 'Last night'],
    ['problems', 'Failures and refusals'],
    ['drift', 'Drift'],
    ['timelines', 'Timelines'],
    ['savings', 'Savings'],
    ['exclusions', 'Left out'],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="customer-infra-manager report v${e(String(model.schemaVersion))}">
<title>Fleet report ${e(model.range.from.slice(0, 10))} – ${e(model.range.to.slice(0, 10))}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>Fleet report</h1>
<p class="muted">${e(String(model.range.days))} days from ${time(model.range.from)} to ${time(model.range.to)}; generated ${time(model.generatedAt)}.</p>
<nav><ul>${sections.map(([id, label]) => `<li><a href="#${id}">${e(label)}</a></li>`).join('')}</ul></nav>
</header>
<main>
${fleetSection(model, a)}
${lastNightSection(model, a)}
${problemsSection(model, a)}
${driftSection(model, a)}
${timelinesSection(model, a)}
${savingsSection(model, a)}
${exclusionsSection(model)}
</main>
<footer>Data: report.json (this page's model) and savings.csv, next to this page.</footer>
</body>
</html>
`;
}

/** report.json: the model itself, so what the page shows can be read by a program. */
export function renderReportJson(model: ReportModel): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}
