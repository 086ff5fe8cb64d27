import { z } from 'zod';

/**
 * Reading the config schema as data, so env variable names, value parsing and problem messages
 * are derived from it instead of being kept in step by hand.
 *
 * zod 4 exposes the definition at `schema._zod.def`, discriminated by `def.type`. Wrappers
 * (default, prefault, optional, readonly, …) hold the wrapped schema in `def.innerType`; objects
 * hold their fields in `def.shape`. Number bounds are read through the classic API (`minValue`,
 * `maxValue`, `isInt`): in zod 4.6 first-party checks no longer write them into `_zod.bag`, and
 * `z.int()` is itself a check rather than an entry of `def.checks`.
 */

export type Schema = z.core.$ZodType;

/** How a leaf's value is written in an env variable or a CLI flag. */
export type LeafKind = 'number' | 'integer' | 'boolean' | 'string' | 'enum' | 'json';

export interface SettingLeaf {
  readonly path: readonly string[];
  readonly kind: LeafKind;
  /** What a valid value looks like, for messages: "an integer from 0 to 60000". */
  readonly expected: string;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** The schema under its wrappers (defaults, readonly, …). */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = (current as z.core.$ZodTypes)._zod.def;
    if (WRAPPERS.has(def.type) && 'innerType' in def) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else return current;
  }
}

/** The fields of an object schema, or undefined when the schema is not an object. */
export function fieldsOf(schema: Schema): Readonly<Record<string, Schema>> | undefined {
  const def = (unwrap(schema) as z.core.$ZodTypes)._zod.def;
  return def.type === 'object' ? def.shape : undefined;
}

/** The schema at a path through nested objects, or undefined when the path leaves the schema. */
export function schemaAt(root: Schema, path: readonly PropertyKey[]): Schema | undefined {
  let current: Schema = root;
  for (const segment of path) {
    const fields = fieldsOf(current);
    if (fields === undefined || typeof segment !== 'string' || !Object.hasOwn(fields, segment)) return undefined;
    const next = fields[segment];
    if (next === undefined) return undefined;
    current = next;
  }
  return current;
}

/** Every non-object node under nested objects, in declaration order. */
export function leavesOf(root: Schema, prefix: readonly string[] = []): SettingLeaf[] {
  const fields = fieldsOf(root);
  if (fields === undefined) return [{ path: prefix, kind: kindOf(root), expected: describeExpected(root) }];
  return Object.entries(fields).flatMap(([key, field]) => leavesOf(field, [...prefix, key]));
}

export function kindOf(schema: Schema): LeafKind {
  const inner = unwrap(schema);
  switch ((inner as z.core.$ZodTypes)._zod.def.type) {
    case 'number':
      return inner instanceof z.ZodNumber && inner.isInt ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
      return 'string';
    case 'enum':
    case 'literal':
      return 'enum';
    default:
      return 'json';
  }
}

/** "an integer from 0 to 60000", "one of json|pretty", "true or false", "an object", … */
export function describeExpected(schema: Schema): string {
  const inner = unwrap(schema);
  const def = (inner as z.core.$ZodTypes)._zod.def;
  switch (def.type) {
    case 'number':
      return describeNumber(inner);
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    case 'enum':
      return `one of ${Object.values(def.entries).join('|')}`;
    case 'literal':
      return `one of ${def.values.map((v) => JSON.stringify(v)).join('|')}`;
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    default:
      return def.type;
  }
}

function describeNumber(schema: Schema): string {
  if (!(schema instanceof z.ZodNumber)) return 'a number';
  const base = schema.isInt ? 'an integer' : 'a number';
  // Bounds read back as ±Infinity (or null in older typings) when absent.
  const min = schema.minValue ?? -Infinity;
  const max = schema.maxValue ?? Infinity;
  if (Number.isFinite(min) && Number.isFinite(max)) return `${base} from ${min} to ${max}`;
  if (Number.isFinite(min)) return `${base} >= ${min}`;
  if (Number.isFinite(max)) return `${base} <= ${max}`;
  return base;
}
