import { describe, expect, it } from 'vitest';
import { renderSavingsCsv, SAVINGS_CSV_HEADER } from '#core/report/csv';
import type { Trigger } from '#core/report/model';
import { escapeHtml, formatDuration, renderReportJson, renderReportPage } from '#core/report/page';
import { HOSTILE_REASON, reportModel } from '#test/support/report-model';

/** Splits RFC 4180 text into rows of fields (quotes, doubled quotes, CRLF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field).toBe('');
  return rows;
}

describe('the report page', () => {
  const html = renderReportPage(reportModel());

  it('escapes every text taken from the model', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('qa<b>');
    expect(html).toContain(escapeHtml(HOSTILE_REASON));
    expect(html).toContain('acme/qa&lt;b&gt;/history/43/actions.json');
  });

  it('escapes the five characters that end a text or an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('has every section of the issue, each reachable from the navigation', () => {
    for (const id of ['fleet', 'last-night', 'problems', 'drift', 'timelines', 'savings', 'exclusions']) {
      expect(html).toContain(`<section id="${id}">`);
      expect(html).toContain(`<a href="#${id}">`);
    }
  });

  it('links each fleet count to its list', () => {
    for (const s of ['asleep', 'awake', 'waking', 'failed', 'drifted', 'held']) {
      expect(html).toContain(`<a href="#fleet-${s}" data-count="${s}">`);
      expect(html).toContain(`<section id="fleet-${s}" class="list">`);
    }
  });

  it('loads nothing and runs nothing: no script, no external URL, a CSP that forbids both', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)="(?!#)/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'`);
  });

  it('follows the system theme and prints on A4', () => {
    expect(html).toContain('@media (prefers-color-scheme:dark)');
    expect(html).toContain('@page{size:A4');
    expect(html).toContain('@media print');
  });

  it('labels money as an estimate, names the prices and counts what has no price', () => {
    expect(html).toContain('Money: an estimate');
    expect(html).toContain('AWS Price List API (shipped table), taken on <time datetime="2026-11-01">');
    expect(html).toContain('<p data-unpriced="1">');
    expect(html).toContain('<code>db.x9.mega</code>');
    expect(html).toContain('<span class="no-price">no price</span>');
    expect(html).toContain('Reserved instances save nothing when stopped');
    expect(html).toMatch(/only when the cluster's autoscaler removes nodes/);
  });

  it('shows the facts before the money', () => {
    expect(html.indexOf('Facts, measured from the records')).toBeLessThan(html.indexOf('Money: an estimate'));
  });

  it('draws one timeline per environment: its asleep intervals, manual and guard runs and failures', () => {
    expect(html.match(/<svg class="timeline"/g)).toHaveLength(4);
    // acme/staging: three intervals in one path; its two scheduled runs are their edges, not drawn.
    expect(html).toMatch(
      /<path class="asleep" d="(M[\d.]+ 4h[\d.]+v14h-[\d.]+Z){3}"><title>3 times asleep, 17.7 hours<\/title>/,
    );
    expect(html).not.toContain('class="run trigger-schedule outcome-succeeded"');
    expect(html.match(/class="run trigger-cli outcome-succeeded"/g)).toHaveLength(1 + 1);
    expect(html).toContain('<path class="run trigger-cli outcome-failed"');
    expect(html).toContain('<path class="run trigger-guard outcome-refused"');
  });

  it('counts and shows the exclusions', () => {
    expect(html).toContain('<p data-exclusions="2"><data value="2">2</data> index objects');
    expect(html).toContain('<code>index/2026/12/03/broken.json</code>');
  });

  it('says when a night has no finished run instead of showing a zero', () => {
    const model = reportModel();
    model.lastNight.p50Seconds = null;
    expect(renderReportPage(model)).toContain(
      '<dd data-duration="p50"><span class="muted">no finished run</span>',
    );
  });

  it('leaves out a time that does not parse, and escapes a trigger that is markup', () => {
    const model = reportModel();
    const t = model.timelines[0];
    if (t === undefined) throw new Error('the fixture has timelines');
    t.asleep.push({ from: 'yesterday', to: '2026-12-01T00:00:00Z' });
    t.runs.push({
      at: 'never',
      action: 'up',
      trigger: '"><script>x()</script>' as Trigger,
      outcome: 'failed',
    });
    t.runs.push({ at: '2026-12-02T00:00:00Z', action: 'up', trigger: '"><b>' as Trigger, outcome: 'failed' });
    const page = renderReportPage(model);
    expect(page).not.toContain('NaN');
    expect(page).not.toContain('<script');
    expect(page).toContain('class="run trigger-&quot;&gt;&lt;b&gt; outcome-failed"');
  });

  it('renders a range that does not parse or spans a billion days, without a crash or NaN', () => {
    const model = reportModel();
    model.range = { from: 'soon', to: 'later', days: 1e9 };
    const page = renderReportPage(model);
    expect(page).not.toContain('NaN');
    expect(page.match(/<path class="grid" d="(M[\d.]+ 0V22){367}"\/>/g)).toHaveLength(4);
  });

  it('formats durations in seconds, minutes and hours', () => {
    expect([formatDuration(42), formatDuration(270), formatDuration(3 * 3600 + 65)]).toEqual([
      '42 s',
      '4 min 30 s',
      '3 h 1 min',
    ]);
  });

  it('writes report.json as the model itself', () => {
    expect(JSON.parse(renderReportJson(reportModel()))).toEqual(reportModel());
  });
});

describe('savings.csv', () => {
  const text = renderSavingsCsv(reportModel());
  const rows = parseCsv(text);

  it('has a header and one row per database, workload and node group, each line ending in CRLF', () => {
    expect(rows[0]).toEqual([...SAVINGS_CSV_HEADER]);
    expect(rows.slice(1).map((r) => r[0])).toEqual([
      'database',
      'database',
      'workload',
      'workload',
      'nodegroup',
    ]);
    expect(rows.every((r) => r.length === SAVINGS_CSV_HEADER.length)).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('prefixes a text cell a spreadsheet would read as a formula, and quotes what RFC 4180 needs', () => {
    expect(rows[2]?.[3]).toBe(`'=HYPERLINK("http://evil","x")`);
    expect(text).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(rows[3]?.[3]).toBe('staging/api, "v2"');
    // Only the first character counts: `dev/@cmd` is no formula.
    expect(rows[4]?.[3]).toBe('dev/@cmd');
  });

  it('guards every formula starter and leaves other text alone', () => {
    const model = reportModel();
    const db = model.savings.facts.databases[0];
    if (db === undefined) throw new Error('fixture has a database');
    const cells = ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', 'plain'].map((identifier) => {
      db.identifier = identifier;
      return parseCsv(renderSavingsCsv(model))[1]?.[3];
    });
    expect(cells).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", 'plain']);
  });

  it('leaves an unpriced estimate empty, never a zero', () => {
    expect(rows[2]?.[10]).toBe('');
    expect(rows[1]?.[10]).toBe('21.33');
  });
});
