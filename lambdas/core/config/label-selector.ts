// Owns the Kubernetes label selector: its syntax (schedules' `labels`, Selection.labels,
// environments' and workloads' label keys and values), the parser and the matcher.
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

import { CimError, ErrorNames } from '../errors.ts';

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

const SELECTOR_EXAMPLE = 'e.g. "tier=dev,team!=payments" or "tier in (dev,staging),!frozen"';

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

/** Longest label selector or command-line selection: bounds the parser's work. */
export const MAX_SELECTOR_LENGTH = 1000;

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

/**
 * Why `s` is not a label selector, with the 0-based offset into `s`, or null: for a caller
 * that words the message itself (a command-line selection names its own text).
 */
export function selectorSyntaxIssue(s: string): { reason: string; at: number } | null {
  try {
    requirements(s);
    return null;
  } catch (err) {
    if (!(err instanceof SyntaxIssue)) throw err;
    return { reason: err.reason, at: err.at };
  }
}
