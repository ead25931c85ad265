// Owns choosing environments by key, glob and label: the label-selector syntax, the
// command-line selection syntax, matching against the configuration, and the "did you mean"
// suggestions that unknown names get (kept short: the closest three, never the whole list).
//
// Label selector (Kubernetes syntax; schedules' `labels`, Selection.labels):
//   selector    = requirement { "," requirement }          comma means AND
//   requirement = key ("=" | "==") value                   label equals value
//               | key "!=" value                           label differs or is absent
//               | key                                      label is present
//               | "!" key                                  label is absent
//               | key "in" "(" value { "," value } ")"     label is one of the values
//               | key "notin" "(" value { "," value } ")"  label is none of them, or absent
//   Spaces are allowed between tokens. A value may be empty ("tier=").
//   key   = [prefix "/"] name; prefix a DNS subdomain (lower case, <= 253), name
//           [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? (<= 63)
//   value = empty, or [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? (<= 63)
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
import type { Config } from './schema.ts';

export type Selection = { patterns: string[]; labels: string | null };

export type LabelRequirement =
  | { key: string; op: 'exists' | 'absent' }
  | { key: string; op: 'eq' | 'ne'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] };

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** For the JSON Schema; labelKeyError also checks the prefix length. */
export const LABEL_KEY_PATTERN =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE_PATTERN = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const PATTERN = /^[a-z0-9*-]+(\/[a-z0-9*-]+)?$/;

const SELECTOR_EXAMPLE = 'e.g. "tier=dev,team!=payments" or "tier in (dev,staging),!frozen"';
const ARG_EXAMPLE = 'e.g. "tier=dev,team!=payments", "*/dev" or "alpha/dev,beta/staging"';

/** Why `key` is not a label key, or null. */
export function labelKeyError(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = key.slice(slash + 1);
  if (prefix !== null && (prefix.length > 253 || !LABEL_PREFIX.test(prefix)))
    return `label key "${key}": the prefix before "/" must be a lower-case DNS name of at most 253 characters, e.g. "example.com/team"`;
  if (!LABEL_NAME.test(name))
    return `label key "${key}": the name must be 1-63 letters, digits, "-", "_" or ".", beginning and ending with a letter or digit, e.g. "tier"`;
  return null;
}

/** Why `value` is not a label value, or null. */
export function labelValueError(value: string): string | null {
  return LABEL_VALUE_PATTERN.test(value)
    ? null
    : `label value "${value}" must be empty or 1-63 letters, digits, "-", "_" or ".", beginning and ending with a letter or digit, e.g. "dev"`;
}

/** Longest pattern: a key is at most 49 characters (config.ts MAX_KEY_PART), a glob a little more. */
export const MAX_PATTERN_LENGTH = 100;
/** Longest label selector or command-line selection: bounds the parser's work. */
export const MAX_SELECTOR_LENGTH = 1000;

/** Why `p` is not an environment key or glob, or null. */
export function patternError(p: string): string | null {
  if (p.length > MAX_PATTERN_LENGTH)
    return `pattern "${p.slice(0, 40)}..." has ${p.length} characters, more than ${MAX_PATTERN_LENGTH}: an environment key or glob is short, e.g. "alpha/dev" or "*/dev"`;
  return PATTERN.test(p)
    ? null
    : `"${p}" is not an environment key or glob: write "customer/environment" in lower case, with * for any characters, e.g. "alpha/dev", "*/dev" or "alpha/*"`;
}

// --- label selector -------------------------------------------------------------------------

class SyntaxIssue {
  constructor(
    readonly reason: string,
    /** 0-based offset into the parsed text. */
    readonly at: number,
  ) {}
}

type Token = { kind: 'word' | ',' | '(' | ')' | '=' | '==' | '!=' | '!' | 'end'; text: string; at: number };

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (s.startsWith('==', i) || s.startsWith('!=', i)) {
      tokens.push({ kind: s.slice(i, i + 2) as '==' | '!=', text: s.slice(i, i + 2), at: i });
      i += 2;
    } else if (',()=!'.includes(c)) {
      tokens.push({ kind: c as ',' | '(' | ')' | '=' | '!', text: c, at: i });
      i++;
    } else {
      const start = i;
      while (i < s.length && !/[\s,()=!]/.test(s[i] ?? '')) i++;
      tokens.push({ kind: 'word', text: s.slice(start, i), at: start });
    }
  }
  tokens.push({ kind: 'end', text: '', at: s.length });
  return tokens;
}

function requirements(s: string): LabelRequirement[] {
  const tokens = tokenize(s);
  let n = 0;
  const peek = () => tokens[n] ?? { kind: 'end', text: '', at: s.length };
  const next = () => tokens[n++] ?? { kind: 'end', text: '', at: s.length };
  const shown = (t: Token) => (t.kind === 'end' ? 'the end' : `"${t.text}"`);
  const key = (): string => {
    const t = next();
    if (t.kind !== 'word') throw new SyntaxIssue(`expected a label key, found ${shown(t)}`, t.at);
    const why = labelKeyError(t.text);
    if (why) throw new SyntaxIssue(why, t.at);
    return t.text;
  };
  const value = (): string => {
    const t = next();
    if (t.kind !== 'word') throw new SyntaxIssue(`expected a label value, found ${shown(t)}`, t.at);
    const why = labelValueError(t.text);
    if (why) throw new SyntaxIssue(why, t.at);
    return t.text;
  };
  if (peek().kind === 'end') throw new SyntaxIssue('the selector is empty', 0);
  const out: LabelRequirement[] = [];
  for (;;) {
    if (peek().kind === '!') {
      next();
      out.push({ key: key(), op: 'absent' });
    } else {
      const k = key();
      const op = peek();
      if (op.kind === '=' || op.kind === '==' || op.kind === '!=') {
        next();
        const empty = peek().kind === ',' || peek().kind === 'end';
        out.push({ key: k, op: op.kind === '!=' ? 'ne' : 'eq', value: empty ? '' : value() });
      } else if (op.kind === 'word' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (open.kind !== '(')
          throw new SyntaxIssue(`expected "(" after "${op.text}", found ${shown(open)}`, open.at);
        const values = [value()];
        while (peek().kind === ',') {
          next();
          values.push(value());
        }
        const close = next();
        if (close.kind !== ')')
          throw new SyntaxIssue(`expected "," or ")" in the value list, found ${shown(close)}`, close.at);
        out.push({ key: k, op: op.text, values });
      } else if (op.kind === ',' || op.kind === 'end') {
        out.push({ key: k, op: 'exists' });
      } else {
        throw new SyntaxIssue(
          `expected "=", "!=", "in", "notin", "," or the end after key "${k}", found ${shown(op)}`,
          op.at,
        );
      }
    }
    const sep = next();
    if (sep.kind === 'end') return out;
    if (sep.kind !== ',')
      throw new SyntaxIssue(`expected "," between requirements, found ${shown(sep)}`, sep.at);
    if (peek().kind === 'end') throw new SyntaxIssue('a "," must be followed by a requirement', sep.at);
  }
}

/** Parses a Kubernetes-style label selector; syntax errors are SelectionInvalid. */
export function parseLabelSelector(s: string): LabelRequirement[] {
  if (s.length > MAX_SELECTOR_LENGTH)
    throw new CimError(
      ErrorNames.SelectionInvalid,
      `label selector "${s.slice(0, 40)}..." has ${s.length} characters, more than ${MAX_SELECTOR_LENGTH}; write a shorter selector, ${SELECTOR_EXAMPLE}`,
    );
  try {
    return requirements(s);
  } catch (err) {
    if (!(err instanceof SyntaxIssue)) throw err;
    throw new CimError(
      ErrorNames.SelectionInvalid,
      `label selector "${s}": ${err.reason} (at position ${err.at + 1}); write ${SELECTOR_EXAMPLE}`,
    );
  }
}

function matches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key] ?? '';
  switch (r.op) {
    case 'exists':
      return has;
    case 'absent':
      return !has;
    case 'eq':
      return has && v === r.value;
    case 'ne':
      return !has || v !== r.value;
    case 'in':
      return has && r.values.includes(v);
    case 'notin':
      return !has || !r.values.includes(v);
  }
}

/** Whether labels satisfy every requirement (a comma in a selector is AND). */
export function matchesLabels(reqs: readonly LabelRequirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => matches(r, labels));
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
    try {
      requirements(t.text);
    } catch (err) {
      if (!(err instanceof SyntaxIssue)) throw err;
      throw fail(`${err.reason} in "${t.text}"`, t.at + err.at);
    }
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
export function environmentLabels(config: Config, key: string): Record<string, string> {
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
export function selectEnvironments(config: Config, sel: Selection, source: string): string[] {
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

// --- suggestions ----------------------------------------------------------------------------

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The `max` known names closest to `name` by edit distance (ties by name). */
export function closestNames(name: string, known: readonly string[], max = 3): string[] {
  return known
    .map((k) => ({ k, d: distance(name, k) }))
    .sort((x, y) => x.d - y.d || (x.k < y.k ? -1 : x.k > y.k ? 1 : 0))
    .slice(0, max)
    .map((x) => x.k);
}

/** `environment "x" not found in SOURCE (did you mean a, b, c?)`: three names at most. */
export function unknownEnvironmentMessage(key: string, known: readonly string[], source: string): string {
  const near = closestNames(key, known);
  return `environment "${key}" not found in ${source}${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`;
}
