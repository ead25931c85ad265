// One client (or gateway) per key and process: built on first use, then reused, so that a
// warm Lambda keeps its connections. Apart from the wiring so that clients can use it too
// without importing the wiring that builds them.
export function memo<T>(make: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) {
      v = make(key);
      cache.set(key, v);
    }
    return v;
  };
}
