/**
 * The config is built from layers, lowest first: mode defaults < file < KEYHUB_* env < CLI
 * overrides. Layers are deep-merged as raw JSON before validation, and the merge remembers which
 * layer gave each value, so a problem line can say where a bad value came from and `sources` can
 * say where a good one did.
 */

export type ConfigSource =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'override'; readonly key: string; readonly flag: string };

/** The source as a person reads it: `default`, a file path, a variable name, or a flag. */
export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return source.path;
    case 'env':
      return source.name;
    case 'override':
      return source.flag;
  }
}

export type RawObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is RawObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Dotted path key, as used in `sources`: `shutdown.deadlineS`. */
export function pathKey(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Where each value of a merged object came from, by dotted path (leaves and created objects). */
export type Origins = Map<string, ConfigSource>;

/** Values a layer could not place, because an earlier layer put a non-object in the way. */
export interface Blocked {
  /** Path of the value that could not be set. */
  readonly path: readonly string[];
  /** Path of the non-object that is in the way. */
  readonly at: readonly string[];
  readonly source: ConfigSource;
}

/**
 * Merge `layer` into `target` in place. Objects merge key by key; anything else replaces. When
 * an earlier layer put a non-object where this layer has an object, the earlier value stays (so
 * validation reports it where it was written) and the layer's values are returned as blocked,
 * never dropped silently. Keys are defined, not assigned, so a `__proto__` key in a file stays a
 * plain (unknown) key.
 */
export function mergeLayer(
  target: RawObject,
  layer: RawObject,
  source: ConfigSource,
  origins: Origins,
  prefix: readonly string[] = [],
): Blocked[] {
  const blocked: Blocked[] = [];
  for (const [key, value] of Object.entries(layer)) {
    const path = [...prefix, key];
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(value)) {
      if (current === undefined) {
        define(target, key, {});
        origins.set(pathKey(path), source);
      } else if (!isPlainObject(current)) {
        blocked.push(...leafPaths(value, path).map((leaf) => ({ path: leaf, at: path, source })));
        continue;
      }
      blocked.push(...mergeLayer(target[key] as RawObject, value, source, origins, path));
    } else {
      define(target, key, value);
      forgetBelow(origins, pathKey(path));
      origins.set(pathKey(path), source);
    }
  }
  return blocked;
}

function define(target: RawObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function forgetBelow(origins: Origins, key: string): void {
  for (const k of origins.keys()) if (k.startsWith(`${key}.`)) origins.delete(k);
}

/** A nested object holding `value` at `path`: `['log', 'level'], 'warn'` → `{ log: { level: 'warn' } }`. */
export function nestAt(path: readonly string[], value: unknown): RawObject {
  let result: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) {
    const obj: RawObject = {};
    define(obj, path[i] ?? '', result);
    result = obj;
  }
  return result as RawObject;
}

/** The value at `path`, or undefined if the path runs through something that is not an object. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || typeof segment === 'symbol') return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** The source of the value at `path`, or of the nearest enclosing object a layer created. */
export function originOf(origins: Origins, path: readonly PropertyKey[]): ConfigSource | undefined {
  for (let n = path.length; n > 0; n--) {
    const found = origins.get(pathKey(path.slice(0, n)));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Every leaf of a plain-object tree with its dotted path (arrays count as leaves). */
export function leafPaths(root: RawObject, prefix: readonly string[] = []): string[][] {
  return Object.entries(root).flatMap(([key, value]) =>
    isPlainObject(value) ? leafPaths(value, [...prefix, key]) : [[...prefix, key]],
  );
}

/** Freeze an acyclic tree of plain objects and arrays (what JSON and zod produce). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
