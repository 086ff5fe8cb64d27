import { z } from 'zod';

/**
 * THE control contract between the `keyhub` CLI (later the LAN API too) and the running daemon:
 * every request, its parameters' schema, its result's schema, whether it streams data, and the
 * error codes it may answer with (numbers of hub/system/errors.ts ErrorCode, pinned here by
 * name, never renumbered; test/unit/control-contract.test.ts holds the two together). The
 * daemon serves it on a unix socket (hub/control); nothing else spells a method name.
 *
 * Framing: newline-delimited JSON, one object per line, UTF-8. The client sends one request line
 * `{"v":1,"id":N,"method":"…","params":{…}}`; the daemon answers with zero or more data lines
 * `{"v":1,"id":N,"data":"<base64>"}` (streaming requests only, in order), then exactly one final
 * line `{"v":1,"id":N,"ok":true,"result":{…}}` or `{"v":1,"id":N,"ok":false,"error":{…}}`. A
 * request line longer than MAX_REQUEST_BYTES is refused without being read to its end; a line that
 * is no request is answered with id 0 when it names none.
 */
export const CONTROL_PROTOCOL_VERSION = 1;

/** A request line is at most this many bytes (its newline not counted): the largest is tiny. */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** A reply line is at most this many bytes: a data line carries EXPORT_CHUNK_BYTES as base64. */
export const MAX_REPLY_LINE_BYTES = 256 * 1024;
/** Raw bytes per data line of a streaming reply. */
export const EXPORT_CHUNK_BYTES = 48 * 1024;

/** Errors any request may be answered with, whatever its method. */
export const ENVELOPE_ERRORS = { CONTROL_REQUEST_INVALID: 802, CONTROL_PEER_REFUSED: 803, CONTROL_BUSY: 806 } as const;

const seq = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const positiveSeq = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
const code = z.int().min(100).max(999);
const iso = z.string().max(40);
const hexKey = z.string().regex(/^[0-9a-f]{64}$/, 'a 32-byte Ed25519 public key as 64 lowercase hex digits');

/** Offline grants: can the hub decide now, and if not, why (hub/access/readiness.ts). */
export const accessReadinessSchema = z.strictObject({
  canDecide: z.boolean(),
  clockTrusted: z.boolean(),
  clockFloor: iso.nullable(),
  clockFloorSource: z.enum(['none', 'signed-time', 'root-time', 'grant', 'shutdown']),
  rootPinned: z.boolean(),
  rootKey: hexKey.nullable(),
  keyringVersion: seq,
  revocationsVersion: seq,
  problems: z.array(z.strictObject({ code, codeName: z.string().max(64), reason: z.string().max(400) })).max(16),
});

/** The audit log's standing (hub/store/audit-summary.ts). */
export const auditSummarySchema = z.strictObject({
  headSeq: seq,
  ackedThrough: seq,
  backlog: seq,
  prunedThrough: seq,
  lastCheckpointSeq: seq.nullable(),
});

/** `keyhub status`: the same object whether the daemon answered or the database was read. */
export const hubStatusSchema = z.strictObject({
  hubId: z.string().max(64),
  /** Who answered: the running daemon, or the database read while no daemon answers. */
  source: z.enum(['daemon', 'database']),
  daemon: z.enum(['running', 'stopped', 'crashed', 'never-started']),
  pid: z.int().min(1).nullable(),
  startedAt: iso.nullable(),
  uptimeS: z.int().min(0).nullable(),
  lastStop: z.strictObject({ at: iso, outcome: z.string().max(200) }).nullable(),
  versions: z.strictObject({ keyhub: z.string().max(64), node: z.string().max(64), sqlite: z.string().max(64), schema: seq, config: seq }),
  stateDir: z.string().max(4096),
  database: z.string().max(4096),
  access: accessReadinessSchema,
  audit: auditSummarySchema,
  /** The paired lock's id as grants name it (null until the daemon has seen a paired lock). */
  lock: z.strictObject({ id: z.string().max(128).nullable() }),
  /** The homeowner's switches at the door. */
  home: z.strictObject({ deliveriesPaused: z.boolean(), petsInside: z.boolean() }),
});

interface RequestSpec<P extends z.ZodType, R extends z.ZodType> {
  params: P;
  result: R;
  /** Answers with data lines before its result. */
  streams: boolean;
  /** What this request may be refused with, besides ENVELOPE_ERRORS. */
  errors: Readonly<Record<string, number>>;
}

const spec = <P extends z.ZodType, R extends z.ZodType>(s: RequestSpec<P, R>): RequestSpec<P, R> => s;

export const CONTROL_REQUESTS = {
  /** Where the hub stands: id, versions, the daemon's run, offline decisions, the audit backlog. */
  status: spec({ params: z.strictObject({}), result: hubStatusSchema, streams: false, errors: {} }),
  /**
   * Pin the root key in the running daemon's trust state (live: the next keyring it is sent is
   * checked against it), on record as `key.update`. A different pinned root is replaced only with
   * `replace`, which drops the keyring and revocation list the old root signed.
   */
  'trust-root': spec({
    params: z.strictObject({ key: hexKey, replace: z.boolean() }),
    result: z.strictObject({ outcome: z.enum(['pinned', 'unchanged', 'replaced']), key: hexKey, previous: hexKey.optional() }),
    streams: false,
    errors: { TRUST_ROOT_REFUSED: 230, AUDIT_WRITE_FAILED: 606 },
  }),
  /**
   * An export file of audit entries [from, to] (protocols/audit/export-file.ts) as data lines; the
   * daemon signs the checkpoint at `to` with the hub key if none is there.
   */
  'audit-export': spec({
    params: z.strictObject({ from: positiveSeq.optional(), to: positiveSeq.optional(), format: z.enum(['jsonl', 'cbor']) }),
    result: z.strictObject({ hubId: z.string().max(64), from: positiveSeq, to: positiveSeq, events: seq }),
    streams: true,
    errors: { AUDIT_RANGE_INVALID: 608, AUDIT_WRITE_FAILED: 606, HUB_KEY_INVALID: 612 },
  }),
} as const;

export type ControlMethod = keyof typeof CONTROL_REQUESTS;
export type ParamsOf<M extends ControlMethod> = z.infer<(typeof CONTROL_REQUESTS)[M]['params']>;
export type ResultOf<M extends ControlMethod> = z.infer<(typeof CONTROL_REQUESTS)[M]['result']>;
export type HubStatus = z.infer<typeof hubStatusSchema>;
export const CONTROL_METHODS = Object.keys(CONTROL_REQUESTS) as ControlMethod[];

const requestId = z.int().min(1).max(2 ** 31 - 1);
const envelope = z.strictObject({ v: z.literal(CONTROL_PROTOCOL_VERSION), id: requestId, method: z.string().max(64), params: z.unknown() });

export const controlErrorSchema = z.strictObject({
  code,
  name: z.string().max(64),
  message: z.string().max(2000),
  details: z.array(z.string().max(400)).max(64).optional(),
});
export type ControlError = z.infer<typeof controlErrorSchema>;

const replyLine = z.union([
  z.strictObject({ v: z.literal(CONTROL_PROTOCOL_VERSION), id: z.int().min(0), data: z.base64().max(Math.ceil(EXPORT_CHUNK_BYTES / 3) * 4) }),
  z.strictObject({ v: z.literal(CONTROL_PROTOCOL_VERSION), id: z.int().min(0), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ v: z.literal(CONTROL_PROTOCOL_VERSION), id: z.int().min(0), ok: z.literal(false), error: controlErrorSchema }),
]);

export type ControlRequest = { [M in ControlMethod]: { id: number; method: M; params: ParamsOf<M> } }[ControlMethod];

/** One parsed request line, or why it is none (with its id, when it had a readable one). */
export type ParsedRequest = { ok: true; request: ControlRequest } | { ok: false; id: number; problem: string };

export function encodeRequest<M extends ControlMethod>(id: number, method: M, params: ParamsOf<M>): string {
  return `${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, method, params })}\n`;
}

/** Parses one request line (without its newline). Total: never throws. */
export function parseRequest(line: string): ParsedRequest {
  if (line.length > MAX_REQUEST_BYTES) return { ok: false, id: 0, problem: `request longer than ${MAX_REQUEST_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, id: 0, problem: 'request is not JSON' };
  }
  const outer = envelope.safeParse(value);
  if (!outer.success) return { ok: false, id: idOf(value), problem: `request: ${firstProblem(outer.error)}` };
  const { id, method, params } = outer.data;
  if (!Object.hasOwn(CONTROL_REQUESTS, method)) return { ok: false, id, problem: `unknown method ${JSON.stringify(method)}; known: ${CONTROL_METHODS.join(', ')}` };
  const m = method as ControlMethod;
  const checked = CONTROL_REQUESTS[m].params.safeParse(params);
  if (!checked.success) return { ok: false, id, problem: `${m} params: ${firstProblem(checked.error)}` };
  return { ok: true, request: { id, method: m, params: checked.data } as ControlRequest };
}

export function encodeResult<M extends ControlMethod>(id: number, _method: M, result: ResultOf<M>): string {
  return `${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, ok: true, result })}\n`;
}

export function encodeError(id: number, error: ControlError): string {
  const clipped: ControlError = { ...error, message: error.message.slice(0, 2000), ...(error.details === undefined ? {} : { details: error.details.slice(0, 64).map((d) => d.slice(0, 400)) }) };
  return `${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, ok: false, error: clipped })}\n`;
}

/** Data lines for `bytes`, at most EXPORT_CHUNK_BYTES each. */
export function encodeData(id: number, bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += EXPORT_CHUNK_BYTES) {
    const part = bytes.subarray(at, at + EXPORT_CHUNK_BYTES);
    lines.push(`${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, data: Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64') })}\n`);
  }
  return lines;
}

export type ParsedReply =
  | { kind: 'data'; id: number; bytes: Uint8Array }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: ControlError }
  | { kind: 'malformed'; problem: string };

/** Parses one reply line (without its newline). Total: never throws. */
export function parseReply(line: string): ParsedReply {
  if (line.length > MAX_REPLY_LINE_BYTES) return { kind: 'malformed', problem: `reply line longer than ${MAX_REPLY_LINE_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'malformed', problem: 'reply is not JSON' };
  }
  const parsed = replyLine.safeParse(value);
  if (!parsed.success) return { kind: 'malformed', problem: `reply: ${firstProblem(parsed.error)}` };
  const r = parsed.data;
  if ('data' in r) return { kind: 'data', id: r.id, bytes: new Uint8Array(Buffer.from(r.data, 'base64')) };
  if (r.ok) return { kind: 'result', id: r.id, result: r.result };
  return { kind: 'error', id: r.id, error: r.error };
}

/** A final result checked against its method's schema. */
export function checkResult<M extends ControlMethod>(method: M, value: unknown): { ok: true; result: ResultOf<M> } | { ok: false; problem: string } {
  const parsed = CONTROL_REQUESTS[method].result.safeParse(value);
  return parsed.success ? { ok: true, result: parsed.data as ResultOf<M> } : { ok: false, problem: `${method} result: ${firstProblem(parsed.error)}` };
}

function idOf(value: unknown): number {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return requestId.safeParse(id).success ? (id as number) : 0;
}

function firstProblem(error: z.ZodError): string {
  const first = error.issues[0];
  return `${first?.path.join('.') || '(root)'}: ${first?.message ?? 'invalid'}`.slice(0, 300);
}
