/**
 * The value a lookup table holds under `key` as its own entry, or undefined. Keys that callers or
 * providers choose (`constructor`, `toString`, `__proto__`) never reach what every object inherits,
 * so an unknown name reads as unknown instead of as a function.
 */
export function ownEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
