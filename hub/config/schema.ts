import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { NETWORK_KEY_HEX, networkKeyProblems } from './network-keys.js';
import type { LogFormat, LogLevel } from '../system/logger.js';

/**
 * The one configuration schema of the daemon (DESIGN.md, Layout: "config/ one zod schema").
 *
 * Conventions, so that every later field reads the same:
 * - `z.strictObject` at every depth: an unknown key is an error, never silently ignored (a typo
 *   in a setting that guards a door must not fall back to a default unnoticed).
 * - Units live in names (`deadlineS`, `busyTimeoutMs`); bounds live in the schema, inclusive.
 * - A default that does not depend on the mode sits here (`.default()` on the leaf, `.prefault({})`
 *   on its object); a default that does (paths, log format, systemd) comes from `defaults.ts`,
 *   so the leaf here has none and is required.
 * - `.readonly()` on every object: the parsed config is frozen and typed readonly.
 * - `version` is the file format version; it is not a setting and has no env variable.
 * - A section whose fields depend on a choice (`lock.driver`, `cloud.broker`) is a discriminated
 *   union: the option the choice selects requires what it needs, so the parsed type says which
 *   fields exist and no reader needs a fallback. Every option takes the same keys (a setting left
 *   over from another choice is kept, not an error); introspect.ts reads the union as one object.
 */

/** The config file format this keyhub writes and understands. Bump it with a migration. */
export const CONFIG_VERSION = 1;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** A 16-byte network key as 32 hex digits (Z-Wave S2, one key per security class). */
const networkKey = z.string().regex(NETWORK_KEY_HEX, { message: 'expected 32 hex digits (a 16-byte key)' });

/** The key set's own rules (distinct, non-zero); the format of each key is its field's. */
const distinctKeys = (keys: Record<string, string | undefined>, ctx: z.RefinementCtx): void => {
  for (const message of networkKeyProblems(keys).filter((p) => !p.includes('expected 32 hex'))) ctx.addIssue({ code: 'custom', message });
};
const otherKeys = { s2Authenticated: networkKey.optional(), s2Unauthenticated: networkKey.optional(), s0Legacy: networkKey.optional() };
/** The lock's node id; by default the first node with Door Lock CC. */
const nodeId = z.int().min(2).max(232).optional();

/**
 * How the Z-Wave driver reaches the lock: the stick (`/dev/serial/by-id/…`, `/dev/ttyUSB0`, or
 * `tcp://host:port` for ser2net) and the S2 keys. A lock is included with S2 Access Control;
 * without that key it could only run in plaintext, so the driver requires it.
 */
const zwaveSection = z
  .strictObject({
    port: z.string().min(1),
    nodeId,
    // Parsed from {} when absent, so a missing key is reported as that key.
    keys: z.strictObject({ s2AccessControl: networkKey, ...otherKeys }).superRefine(distinctKeys).readonly().prefault({} as { s2AccessControl: string }),
  })
  .readonly()
  .prefault({} as { port: string });
/** The same section as another driver keeps it: nothing required. */
const zwaveUnused = z
  .strictObject({
    port: z.string().min(1).optional(),
    nodeId,
    keys: z.strictObject({ s2AccessControl: networkKey.optional(), ...otherKeys }).superRefine(distinctKeys).readonly().prefault({}),
  })
  .readonly()
  .prefault({});

const lockCommon = {
  /** A lock()/unlock() with no confirmed bolt position within this fails with LOCK_TIMEOUT. */
  commandTimeoutMs: z.int().min(1000).max(120_000).default(15_000),
  /** A bolt or door reading older than this reads `unknown` (fail secure). */
  stateMaxAgeS: z.int().min(10).max(86_400).default(3600),
};

/** The smart lock (DESIGN.md, "Lock drivers"): which driver, and how it reaches the lock. */
const lockSchema = z
  .discriminatedUnion('driver', [
    z.strictObject({ driver: z.literal('zwave'), ...lockCommon, zwave: zwaveSection }).readonly(),
    z.strictObject({ driver: z.literal('ble'), ...lockCommon, zwave: zwaveUnused }).readonly(),
    /** `none` until a lock is installed; the daemon then runs without one (every command: not paired). */
    z.strictObject({ driver: z.literal('none').default('none'), ...lockCommon, zwave: zwaveUnused }).readonly(),
  ])
  .prefault({});

/** The most `access.clockSkewS` may be; what remembers ids against replay keeps them this much longer. */
export const MAX_CLOCK_SKEW_S = 3600;

/**
 * Offline grants (DESIGN.md, "Trust and tokens"; hub/access/policy.ts maps this onto decide()'s
 * policy). `home` has no default: until the installer sets where the home is, every cloud-path
 * unlock is refused (fail secure); BLE at the door works without it.
 */
const accessSchema = z
  .strictObject({
    /** How far the wall clock may be behind the clock floor and still be trusted. */
    clockSkewS: z.int().min(0).max(MAX_CLOCK_SKEW_S).default(300),
    /** BLE: the weakest signal that still counts as "at the door" (HCI reports RSSI from -127 dBm). */
    rssiFloorDbm: z.int().min(-127).max(0).default(-70),
    /** Cloud path: how close to `home` a handheld must be, its reported accuracy counted against it. */
    cloudRadiusM: z.int().min(10).max(1000).default(50),
    /** WGS 84 position of the front door in 1e-7 degrees (as the presentation carries it). */
    home: z
      .strictObject({
        latE7: z.int().min(-900_000_000).max(900_000_000),
        lonE7: z.int().min(-1_800_000_000).max(1_800_000_000),
      })
      .readonly()
      .optional(),
  })
  .readonly()
  .prefault({});

/** The audit log (DESIGN.md, "Audit"): checkpoint spacing and retention of acked entries. */
const auditSchema = z
  .strictObject({
    /** The hub signs a checkpoint (seq, head hash) every this many events. */
    checkpointEvery: z.int().min(1).max(100_000).default(100),
    /** Entries acked by the cloud and older than this may be pruned (a signed checkpoint stays at the cut). */
    retentionDays: z.int().min(1).max(3650).default(365),
  })
  .readonly()
  .prefault({});

/** Where a real broker is and what the hub proves itself with (its certificate and key, the CA to pin). */
const brokerFields = {
  url: z.string().regex(/^mqtts:\/\//, { message: 'expected an mqtts:// URL' }),
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
  caFile: z.string().min(1),
};
const brokerFieldsUnused = {
  url: brokerFields.url.optional(),
  certFile: brokerFields.certFile.optional(),
  keyFile: brokerFields.keyFile.optional(),
  caFile: brokerFields.caFile.optional(),
};
const cloudCommon = {
  /** Embedded broker's TLS port on 127.0.0.1. */
  port: z.int().min(1).max(65_535).default(8883),
};
const cloudRefusals = {
  /**
   * Refused downlink payloads on record one by one: the first of each kind (topic and reason) and
   * at most `inFullTotal` per interval; the rest are counted into one entry per interval.
   */
  refusals: z
    .strictObject({
      inFullPerKind: z.int().min(1).max(1000).default(5),
      inFullTotal: z.int().min(1).max(10_000).default(20),
      intervalS: z.int().min(1).max(86_400).default(60),
    })
    .readonly()
    .prefault({}),
};

/**
 * The cloud link (DESIGN.md, "Cloud link"). `none` until the installer registers the hub
 * (`embedded` runs aedes in-process with its own CA: the simulated home). `external` needs the
 * hub's certificate, key and the CA to pin.
 */
const cloudSchema = z
  .discriminatedUnion('broker', [
    z.strictObject({ broker: z.literal('none').default('none'), ...cloudCommon, ...brokerFieldsUnused, ...cloudRefusals }).readonly(),
    z.strictObject({ broker: z.literal('embedded'), ...cloudCommon, ...brokerFieldsUnused, ...cloudRefusals }).readonly(),
    z.strictObject({ broker: z.literal('external'), ...cloudCommon, ...brokerFields, ...cloudRefusals }).readonly(),
  ])
  .prefault({});

const MIN_CLIP_QUOTA_MB = 64;
const MAX_CLIP_QUOTA_MB = 1_048_576;

/**
 * The door camera (DESIGN.md, "Camera"). No `url`, no camera: then no delivery may enter (the
 * access policy requires a healthy camera for deliveries and service visits).
 */
const cameraSchema = z
  .strictObject({
    // rtsp:// only: the client speaks RTSP over TCP (and RTP over UDP), not RTSP over TLS.
    url: z.string().regex(/^rtsp:\/\//, { message: 'expected an rtsp:// URL' }).optional(),
    /**
     * RTP over TCP (interleaved) or UDP. `auto` asks for TCP and falls back to UDP when the camera
     * refuses TCP (many UDP-only servers answer 461 or 400); `tcp`/`udp` take only that one.
     */
    transport: z.enum(['auto', 'tcp', 'udp']).default('auto'),
    username: z.string().min(1).max(128).optional(),
    password: z.string().min(1).max(128).optional(),
    /** Seconds of video kept in memory so a visit's clip starts before the door opens. */
    preRollS: z.int().min(1).max(60).default(10),
    /** No new frame for this long while streaming is a stall (the Wi-Fi deauthentication case). */
    stallS: z.int().min(1).max(30).default(3),
    /** This many identical keyframes in a row are a frozen picture, a stall of its own reason. */
    frozenKeyframes: z.int().min(2).max(30).default(3),
    /** A visit's clip goes on this long after the relock. */
    postRollS: z.int().min(0).max(120).default(10),
    /** Disk space for all clips under <stateDir>/clips; the oldest clips of no visit go first. */
    clipQuotaMb: z.int().min(MIN_CLIP_QUOTA_MB).max(MAX_CLIP_QUOTA_MB).default(4096),
    /** What visit clips may fill of it before the homeowner is alerted (they are never deleted for space). */
    visitClipQuotaMb: z.int().min(32).max(MAX_CLIP_QUOTA_MB).default(3072),
  })
  .superRefine((camera, ctx) => {
    if ((camera.username === undefined) !== (camera.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: [camera.username === undefined ? 'username' : 'password'], message: 'username and password go together' });
    }
    // A quota already out of range is that one problem, not a second one here.
    const inRange = camera.clipQuotaMb >= MIN_CLIP_QUOTA_MB && camera.visitClipQuotaMb <= MAX_CLIP_QUOTA_MB;
    if (inRange && camera.visitClipQuotaMb > camera.clipQuotaMb) ctx.addIssue({ code: 'custom', path: ['visitClipQuotaMb'], message: 'must not exceed camera.clipQuotaMb' });
  })
  .readonly()
  .prefault({});

/** The visit (DESIGN.md, "The product in one delivery"; hub/delivery). */
const deliverySchema = z
  .strictObject({
    /** With no visit at the door, a door open this long raises `door ajar`. */
    doorAjarS: z.int().min(10).max(86_400).default(300),
    /** A relock that failed is tried this many more times, 5 s apart and doubling (up to 5 min). */
    relockRetries: z.int().min(0).max(50).default(8),
  })
  .readonly()
  .prefault({});

/**
 * Keypad codes on a schedule (hub/schedule). `slots` is the range of keypad slots the hub owns:
 * it puts guest and service codes there and clears anything else it finds there; every slot
 * outside it is the owner's and left alone. `zone` is the home's time zone, the default for a
 * code's windows (a code may name its own); without it every code must.
 */
const scheduleSchema = z
  .strictObject({
    zone: z
      .string()
      .max(64)
      .refine((tz) => isTimeZone(tz), { message: 'expected an IANA time zone (e.g. Europe/Berlin)' })
      .optional(),
    slots: z
      .strictObject({ first: z.int().min(1).max(255).default(11), last: z.int().min(1).max(255).default(30) })
      .refine((r) => r.first <= r.last, { message: 'first must not be after last', when: fieldsValid })
      .readonly()
      .prefault({}),
    /** The PIN lengths the lock takes (Z-Wave User Code CC allows 4–10 digits; a Kwikset 4–8). */
    pinDigits: z
      .strictObject({ min: z.int().min(4).max(10).default(4), max: z.int().min(4).max(10).default(8) })
      .refine((d) => d.min <= d.max, { message: 'min must not be above max', when: fieldsValid })
      .readonly()
      .prefault({}),
    /** Read the hub's slots back this often (besides boot, reconnects and the lock's own reports): each pass wakes the lock once per slot. */
    reconcileEveryS: z.int().min(60).max(86_400).default(21_600),
    /** This many wrong codes at the keypad within `windowS` raise an alarm. */
    wrongCodes: z
      .strictObject({ limit: z.int().min(2).max(100).default(5), windowS: z.int().min(60).max(86_400).default(600) })
      .readonly()
      .prefault({}),
  })
  .readonly()
  .prefault({});

/** A range's order is checked only once both its ends are valid (one problem per bad value). */
function fieldsValid(payload: { issues: readonly unknown[] }): boolean {
  return payload.issues.length === 0;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z
  .strictObject({
    version: z.int().min(1),
    /** Database, keys, clips. Made absolute before validation (see load.ts for the base). */
    stateDir: z
      .string()
      .min(1, { abort: true })
      .refine(isAbsolute, { message: 'expected an absolute path' }),
    log: z.strictObject({ level: z.enum(LOG_LEVELS), format: z.enum(LOG_FORMATS) }).readonly(),
    systemd: z.strictObject({ notify: z.boolean() }).readonly(),
    shutdown: z
      .strictObject({
        /** Time allowed for an orderly stop before the daemon exits anyway. */
        deadlineS: z.number().min(1).max(120).default(10),
      })
      .readonly()
      .prefault({}),
    store: z
      .strictObject({
        /** SQLite busy_timeout: how long a write waits for a lock held by another connection. */
        busyTimeoutMs: z.int().min(0).max(60_000).default(5000),
      })
      .readonly()
      .prefault({}),
    lock: lockSchema,
    access: accessSchema,
    audit: auditSchema,
    cloud: cloudSchema,
    camera: cameraSchema,
    schedule: scheduleSchema,
    delivery: deliverySchema,
  })
  .readonly();

export type HubConfig = z.infer<typeof configSchema>;

// The logger's option types and the schema's enums must not drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _levelsMatch: Same<HubConfig['log']['level'], LogLevel> = true;
const _formatsMatch: Same<HubConfig['log']['format'], LogFormat> = true;
