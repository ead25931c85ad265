// Owns choosing environments by key, glob and label: the command-line selection syntax and
// matching against the configuration. The label-selector syntax is in label-selector.ts, the
// "did you mean" suggestions in did-you-mean.ts.
//
// Patterns (schedules' `environments`, Selection.patterns): an environment key
// "customer/environment", or a glob where "*" stands for any run of characters ("/" included):
// "*/dev", "alpha/*", "cust0*/dev", "*". Lower-case letters, digits, "-", "/" and "*" only.
//
// Command-line selection (parseSelectionArg), e.g. 'tier=dev,team!=payments' or '*/dev':
//   terms are separated by commas and/or spaces; "key in (a,b)" and "key notin (a, b)" are one
//   term (the parenthesised list may contain commas and spaces). A term that contains "=",
//   "!" or "(" , or is "key in (...)" / "key notin (...)", is a label requirement; every other
//   term is a pattern. No spaces around "=" and "!=" here ("tier=dev", not "tier = dev").
//   A bare word such as "tier" is therefore a pattern (an environment key), not "has label
//   tier": that requirement is written in a schedule's `labels`.
//
// Meaning of a Selection: no patterns means every environment; several patterns are OR-ed;
// the result is then AND-ed with the label selector. Keys come back sorted.

import { CimError, ErrorNames } from '../errors.ts';
import { unknownEnvironmentMessage } from './did-you-mean.ts';
import {
  MAX_SELECTOR_LENGTH,
  matchesLabels,
  parseLabelSelector,
  selectorSyntaxIssue,
} from './label-selector.ts';

export type Selection = { patterns: string[]; labels: string | null };

/**
 * What selecting reads from a configuration: its environment keys and their labels. Config
 * fits it; written out here so that the schema can use this module's checks without a cycle.
 */
export interface LabelledEnvironments {
  defaults: { labels?: Record<string, string> | undefined };
  environments: Record<string, { labels?: Record<string, string> | undefined } | null>;
}

const PATTERN = /^[a-z0-9*-]+(\/[a-z0-9*-]+)?$/;

const ARG_EXAMPLE = 'e.g. "tier=dev,team!=payments", "*/dev" or "alpha/dev,beta/staging"';

/** Longest pattern: a key is at most 49 characters (schema.ts MAX_KEY_PART), a glob a little more. */
export const MAX_PATTERN_LENGTH = 100;

/** Why `p` is not an environment key or glob, or null. */
export function patternError(p: string): string | null {
  if (p.length > MAX_PATTERN_LENGTH)
    return `pattern "${p.slice(0, 40)}..." has ${p.length} characters, more than ${MAX_PATTERN_LENGTH}: an environment key or glob is short, e.g. "alpha/dev" or "*/dev"`;
  return PATTERN.test(p)
    ? null
    : `"${p}" is not an environment key or glob: write "customer/environment" in lower case, with * for any characters, e.g. "alpha/dev", "*/dev" or "alpha/*"`;
}

// --- selections -----------------------------------------------------------------------------

/** Checks patterns and selector; errors are SelectionInvalid. */
export function parseSelection(input: { patterns?: string[]; labels?: string | null }): Selection {
  const patterns = [...new Set(input.patterns ?? [])];
  for (const p of patterns) {
    const why = patternError(p);
    if (why) throw new CimError(ErrorNames.SelectionInvalid, why);
  }
  const labels = input.labels ?? null;
  if (labels !== null) parseLabelSelector(labels);
  return { patterns, labels };
}

/** Parses a command-line selection (grammar in the header). */
export function parseSelectionArg(arg: string): Selection {
  const fail = (reason: string, at: number) =>
    new CimError(
      ErrorNames.SelectionInvalid,
      `selection "${arg}": ${reason} (at position ${at + 1}); write ${ARG_EXAMPLE}`,
    );
  if (arg.length > MAX_SELECTOR_LENGTH)
    throw new CimError(
      ErrorNames.SelectionInvalid,
      `selection "${arg.slice(0, 40)}..." has ${arg.length} characters, more than ${MAX_SELECTOR_LENGTH}; write ${ARG_EXAMPLE}`,
    );
  const closing = (from: number) => {
    const close = arg.indexOf(')', from);
    if (close < 0) throw fail('"(" is not closed by ")"', from);
    return close + 1;
  };
  const patterns: string[] = [];
  const labelTerms: { text: string; at: number }[] = [];
  let i = 0;
  while (i < arg.length) {
    if (/[\s,]/.test(arg[i] ?? '')) {
      i++;
      continue;
    }
    const start = i;
    while (i < arg.length && !/[\s,]/.test(arg[i] ?? '')) i = arg[i] === '(' ? closing(i) : i + 1;
    const list = /^\s+(in|notin)\s*\(/.exec(arg.slice(i));
    if (list) i = closing(i + list[0].length - 1);
    const term = arg.slice(start, i);
    if (list || /[=!()]/.test(term)) labelTerms.push({ text: term, at: start });
    else patterns.push(term);
  }
  if (patterns.length === 0 && labelTerms.length === 0) throw fail('the selection is empty', 0);
  for (const t of labelTerms) {
    const issue = selectorSyntaxIssue(t.text);
    if (issue) throw fail(`${issue.reason} in "${t.text}"`, t.at + issue.at);
  }
  for (const p of patterns) {
    const why = patternError(p);
    if (why) throw fail(why, arg.indexOf(p));
  }
  return parseSelection({
    patterns,
    labels: labelTerms.length ? labelTerms.map((t) => t.text).join(',') : null,
  });
}

/** Labels of one environment: its own over those under defaults. */
export function environmentLabels(config: LabelledEnvironments, key: string): Record<string, string> {
  return { ...config.defaults.labels, ...config.environments[key]?.labels };
}

/**
 * Whether `text` matches `glob` ("*" is any run of characters). Linear, never backtracking:
 * the parts between stars must occur in order, and the leftmost occurrence of each part is
 * always as good as any later one, so each is found once (KMP) from where the last ended.
 * Text positions only move forward, so the work is O(|glob| + |text|) for any pattern (a
 * regular expression built from the glob backtracks exponentially on "a*a*a*...b").
 * `steps`, when given, counts character comparisons (the tests assert linearity on it).
 */
export function globMatch(glob: string, text: string, steps?: { n: number }): boolean {
  const parts = glob.split('*');
  const count = () => {
    if (steps) steps.n++;
  };
  const first = parts[0] ?? '';
  if (parts.length === 1) {
    count();
    return glob === text;
  }
  const last = parts.at(-1) ?? '';
  if (first.length + last.length > text.length) return false;
  for (let i = 0; i < first.length; i++) {
    count();
    if (text[i] !== first[i]) return false;
  }
  for (let i = 0; i < last.length; i++) {
    count();
    if (text[text.length - last.length + i] !== last[i]) return false;
  }
  let at = first.length;
  const end = text.length - last.length;
  for (const part of parts.slice(1, -1)) {
    if (part === '') continue;
    const found = indexOfKmp(text, part, at, end, count);
    if (found < 0) return false;
    at = found + part.length;
  }
  return true;
}

/** The first index >= from where `needle` occurs wholly before `end`, or -1 (Knuth-Morris-Pratt). */
function indexOfKmp(text: string, needle: string, from: number, end: number, count: () => void): number {
  const fail = new Array<number>(needle.length).fill(0);
  for (let i = 1, k = 0; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) {
      count();
      k = fail[k - 1] ?? 0;
    }
    count();
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
  }
  for (let i = from, k = 0; i < end; i++) {
    while (k > 0 && text[i] !== needle[k]) {
      count();
      k = fail[k - 1] ?? 0;
    }
    count();
    if (text[i] === needle[k]) k++;
    if (k === needle.length) return i - needle.length + 1;
  }
  return -1;
}

export function describeSelection(sel: Selection): string {
  const parts = [...sel.patterns, ...(sel.labels === null ? [] : [sel.labels])];
  return parts.length ? parts.join(',') : '*';
}

/** The environments a selection names, sorted; unknown keys and empty results are refused. */
export function selectEnvironments(config: LabelledEnvironments, sel: Selection, source: string): string[] {
  const keys = Object.keys(config.environments).sort();
  let chosen = keys;
  if (sel.patterns.length > 0) {
    const picked = new Set<string>();
    for (const p of sel.patterns) {
      if (!p.includes('*')) {
        if (!Object.hasOwn(config.environments, p)) {
          const hint = p.includes('/')
            ? ''
            : '; keys are "customer/environment", and label requirements look like "tier=dev"';
          throw new CimError(
            ErrorNames.SelectionInvalid,
            `${unknownEnvironmentMessage(p, keys, source)}${hint}`,
          );
        }
        picked.add(p);
        continue;
      }
      const matched = keys.filter((k) => globMatch(p, k));
      if (matched.length === 0)
        throw new CimError(
          ErrorNames.SelectionInvalid,
          `pattern "${p}" matches no environment in ${source} (${keys.length} configured, e.g. ${keys.slice(0, 2).join(', ')})`,
        );
      for (const k of matched) picked.add(k);
    }
    chosen = keys.filter((k) => picked.has(k));
  }
  if (sel.labels !== null) {
    const reqs = parseLabelSelector(sel.labels);
    const before = chosen.length;
    chosen = chosen.filter((k) => matchesLabels(reqs, environmentLabels(config, k)));
    if (chosen.length === 0) {
      const scope = sel.patterns.length
        ? `${before} environment(s) match ${sel.patterns.join(',')}`
        : `${before} environment(s) are configured`;
      throw new CimError(
        ErrorNames.SelectionInvalid,
        `selection "${describeSelection(sel)}" matches no environment in ${source}: ${scope}, and none has labels matching "${sel.labels}". Check "labels" under "environments" and "defaults".`,
      );
    }
  }
  return chosen;
}
