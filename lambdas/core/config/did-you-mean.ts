// Owns the "did you mean" suggestions that unknown names get (environment keys, time zones):
// kept short, the closest three by edit distance, never the whole list. Imports nothing, so
// every check of the configuration can use it.

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
