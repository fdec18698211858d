/**
 * The value a lookup table holds under `key` as its own entry, or undefined. Keys that callers or
 * providers choose (`constructor`, `toString`, `__proto__`) never reach what every object inherits,
 * so an unknown name reads as unknown instead of as a function.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * Sets `value` as `target`'s own entry under `key`. A `__proto__` key of parsed JSON (JSON.parse
 * makes it an ordinary key) stays an entry: plain assignment would set the object's prototype and
 * drop the data.
 */
export function setOwnEntry<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
