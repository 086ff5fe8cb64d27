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
 *
 * A discriminated union of objects (`lock`, by `driver`) reads as one object whose fields are the
 * union of its options' fields, in the order they first appear; the discriminator reads as one
 * enum of every option's value. Given the raw input, `schemaAt` follows the option it selects.
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

/** The fields of an object schema (merged over a union's options), or undefined for any other schema. */
export function fieldsOf(schema: Schema): Readonly<Record<string, Schema>> | undefined {
  const def = (unwrap(schema) as z.core.$ZodTypes)._zod.def;
  if (def.type === 'object') return def.shape;
  const union = unionOf(schema);
  return union === undefined ? undefined : mergedFields(union);
}

interface ObjectUnion {
  /** The discriminating key, for a discriminated union. */
  readonly discriminator: string | undefined;
  readonly options: readonly Schema[];
}

/** A union whose every option is an object, or undefined. */
function unionOf(schema: Schema): ObjectUnion | undefined {
  const def = (unwrap(schema) as z.core.$ZodTypes)._zod.def;
  if (def.type !== 'union') return undefined;
  const options = def.options as readonly Schema[];
  if (!options.every((o) => (unwrap(o) as z.core.$ZodTypes)._zod.def.type === 'object')) return undefined;
  const discriminator = (def as { discriminator?: unknown }).discriminator;
  return { discriminator: typeof discriminator === 'string' ? discriminator : undefined, options };
}

function shapeOf(option: Schema): Readonly<Record<string, Schema>> {
  return ((unwrap(option) as z.core.$ZodTypes)._zod.def as z.core.$ZodObjectDef).shape;
}

/** The literal values of an option's discriminator field. */
function literalValues(field: Schema | undefined): readonly unknown[] {
  if (field === undefined) return [];
  const def = (unwrap(field) as z.core.$ZodTypes)._zod.def;
  return def.type === 'literal' ? def.values : [];
}

function mergedFields(union: ObjectUnion): Readonly<Record<string, Schema>> {
  const merged: Record<string, Schema> = {};
  for (const option of union.options) {
    for (const [key, field] of Object.entries(shapeOf(option))) if (!Object.hasOwn(merged, key)) merged[key] = field;
  }
  if (union.discriminator !== undefined) {
    const values = union.options.flatMap((o) => literalValues(shapeOf(o)[union.discriminator as string])).filter((v): v is string => typeof v === 'string');
    if (values.length > 0) merged[union.discriminator] = z.enum(values as [string, ...string[]]);
  }
  return merged;
}

/** The option of a discriminated union that `value` (the union's raw input) selects, if any. */
function selectedOption(union: ObjectUnion, value: unknown): Schema | undefined {
  if (union.discriminator === undefined) return undefined;
  const given = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[union.discriminator] : undefined;
  return union.options.find((o) => {
    const field = shapeOf(o)[union.discriminator as string];
    // An absent discriminator selects the option whose literal has a default (`driver: none`).
    return given === undefined ? field !== undefined && (field as z.core.$ZodTypes)._zod.def.type === 'default' : literalValues(field).includes(given);
  });
}

/**
 * The schema at a path through nested objects, or undefined when the path leaves the schema. With
 * `input` (the raw value at the root), a discriminated union is entered through the option the
 * input selects; without it, through its merged fields.
 */
export function schemaAt(root: Schema, path: readonly PropertyKey[], input?: unknown): Schema | undefined {
  return walk(root, path, input)?.schema;
}

/**
 * Where a path passes into an option of a discriminated union: the discriminator's path and the
 * value selecting that option (`lock.driver` = `zwave`), so a message can say "required when …".
 */
export function optionAt(root: Schema, path: readonly PropertyKey[], input: unknown): { path: readonly string[]; value: string } | undefined {
  return walk(root, path, input)?.option;
}

function walk(root: Schema, path: readonly PropertyKey[], input: unknown): { schema: Schema; option?: { path: readonly string[]; value: string } } | undefined {
  let current: Schema = root;
  let value = input;
  let option: { path: readonly string[]; value: string } | undefined;
  for (const [i, segment] of path.entries()) {
    if (typeof segment !== 'string') return undefined;
    const union = unionOf(current);
    const selected = union === undefined || input === undefined ? undefined : selectedOption(union, value);
    if (union !== undefined && selected !== undefined && segment !== union.discriminator) {
      const literal = literalValues(shapeOf(selected)[union.discriminator as string])[0];
      if (typeof literal === 'string') option = { path: [...(path.slice(0, i) as string[]), union.discriminator as string], value: literal };
    }
    const fields = selected === undefined ? fieldsOf(current) : shapeOf(selected);
    if (fields === undefined || !Object.hasOwn(fields, segment)) return undefined;
    const next = fields[segment];
    if (next === undefined) return undefined;
    current = next;
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[segment] : undefined;
  }
  return option === undefined ? { schema: current } : { schema: current, option };
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
