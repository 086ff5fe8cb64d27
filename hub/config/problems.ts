import type { z } from 'zod';
import { describeExpected, kindOf, optionAt, schemaAt, type Schema } from './introspect.js';
import { describeSource, originOf, valueAt, type Blocked, type Origins, type RawObject } from './layers.js';

/**
 * zod issues → one line per problem, for a person at a terminal or reading the journal:
 *   log.level = "loud" (from /etc/keyhub/config.json): expected one of trace|debug|…
 *   frobnicate (from /x/config.json): unknown key
 * Each line names the path, the offending value, what was expected (read from the schema, so a
 * range says both ends) and where the value came from.
 */

const VALUE_MAX_CHARS = 60;

export function problemLines(
  schema: Schema,
  issues: readonly z.core.$ZodIssue[],
  input: RawObject,
  origins: Origins,
): string[] {
  const lines = issues.flatMap((issue) => linesFor(schema, issue, input, origins));
  // Two checks failing on one value (say, not an integer and too big) make one problem.
  return [...new Set(lines)];
}

function linesFor(schema: Schema, issue: z.core.$ZodIssue, input: RawObject, origins: Origins): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      return `${displayPath(path)} (${fromText(origins, path)}): unknown key`;
    });
  }
  const value = valueAt(input, issue.path);
  const expected = expectation(issue, schemaAt(schema, issue.path, input));
  if (value === undefined) {
    // A field only one option of a union needs (lock.zwave.port for the Z-Wave driver) says which.
    const option = issue.code === 'invalid_type' ? optionAt(schema, issue.path, input) : undefined;
    const missing = option === undefined ? expected : `required when ${option.path.join('.')} is "${option.value}"`;
    return [`${displayPath(issue.path)} (not set): ${missing}`];
  }
  return [`${displayPath(issue.path)} = ${isSecretPath(issue.path) ? '[redacted]' : formatValue(value)} (${fromText(origins, issue.path)}): ${expected}`];
}

/** `log.level (from KEYHUB_LOG__LEVEL): cannot be set inside log = "debug", which is not an object` */
export function blockedLine(blocked: Blocked, merged: RawObject): string {
  const inTheWay = `${displayPath(blocked.at)} = ${formatValue(valueAt(merged, blocked.at))}`;
  return `${displayPath(blocked.path)} (from ${describeSource(blocked.source)}): cannot be set inside ${inTheWay}, which is not an object`;
}

function expectation(issue: z.core.$ZodIssue, leaf: Schema | undefined): string {
  const numeric = leaf !== undefined && (kindOf(leaf) === 'number' || kindOf(leaf) === 'integer');
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${leaf === undefined ? issue.expected : describeExpected(leaf)}`;
    case 'too_small':
    case 'too_big':
      if (numeric) return `expected ${describeExpected(leaf)}`;
      return sizeExpectation(issue);
    case 'not_multiple_of':
      return numeric ? `expected ${describeExpected(leaf)}` : `expected a multiple of ${String(issue.divisor)}`;
    case 'invalid_union':
      // A discriminator no option has (`lock.driver: "zigbee"`): the merged enum lists them all.
      return leaf === undefined ? issue.message : `expected ${describeExpected(leaf)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('|')}`;
    default:
      return issue.message;
  }
}

function sizeExpectation(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  if (issue.code === 'too_small' && issue.origin === 'string' && issue.minimum === 1) return 'expected a non-empty string';
  const unit = issue.origin === 'string' ? 'characters' : 'items';
  const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  const which = issue.code === 'too_small' ? 'at least' : 'at most';
  return `expected ${which} ${String(bound)} ${unit}`;
}

function fromText(origins: Origins, path: readonly PropertyKey[]): string {
  const source = originOf(origins, path);
  return `from ${source === undefined ? 'default' : describeSource(source)}`;
}

/** `store.busyTimeoutMs`, `locks[0].id`; the whole document is `(root)`. */
export function displayPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : `${i === 0 ? '' : '.'}${String(segment)}`))
    .join('');
}

/** Secrets (camera password, keys) are never echoed into an error line, a terminal or a journal. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const last = path.at(-1);
  return typeof last === 'string' && /password|secret|keys?$|^s2|^s0/i.test(last);
}

/**
 * JSON, cut to about 60 characters so one problem stays one line. User info in a URL (a camera's
 * `rtsp://user:password@host`, or the same with the scheme forgotten) is redacted wherever it is.
 */
export function formatValue(value: unknown): string {
  const raw = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  const text = raw.replace(USER_INFO, '$1[redacted]@');
  return text.length <= VALUE_MAX_CHARS ? text : `${text.slice(0, VALUE_MAX_CHARS - 1)}…`;
}

/** What may precede `@` as URL user info (RFC 3986 §3.2.1): after a scheme, or at a string's start. */
const USER_INFO = /([a-z][a-z0-9+.-]*:\/\/|^"|[[,:]")[^"@/\s]+@/gi;
