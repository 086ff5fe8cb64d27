import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { NETWORK_KEY_HEX, networkKeyProblems } from '../lock/zwave/security-keys.js';
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
 */

/** The config file format this keyhub writes and understands. Bump it with a migration. */
export const CONFIG_VERSION = 1;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export const LOCK_DRIVERS = ['zwave', 'ble', 'none'] as const;

/** A 16-byte network key as 32 hex digits (Z-Wave S2, one key per security class). */
const networkKey = z.string().regex(NETWORK_KEY_HEX, { message: 'expected 32 hex digits (a 16-byte key)' }).optional();

/** The smart lock (DESIGN.md, "Lock drivers"): which driver, and how it reaches the lock. */
const lockSchema = z
  .strictObject({
    /** `none` until a lock is installed; the daemon then runs without one. */
    driver: z.enum(LOCK_DRIVERS).default('none'),
    /** A lock()/unlock() with no confirmed bolt position within this fails with LOCK_TIMEOUT. */
    commandTimeoutMs: z.int().min(1000).max(120_000).default(15_000),
    /** A bolt or door reading older than this reads `unknown` (fail secure). */
    stateMaxAgeS: z.int().min(10).max(86_400).default(3600),
    zwave: z
      .strictObject({
        /** The stick: `/dev/serial/by-id/…`, `/dev/ttyUSB0`, or `tcp://host:port` (ser2net). */
        port: z.string().min(1).optional(),
        /** The lock's node id; by default the first node with Door Lock CC. */
        nodeId: z.int().min(2).max(232).optional(),
        keys: z
          .strictObject({
            s2AccessControl: networkKey,
            s2Authenticated: networkKey,
            s2Unauthenticated: networkKey,
            s0Legacy: networkKey,
          })
          .superRefine((keys, ctx) => {
            for (const message of networkKeyProblems(keys).filter((p) => !p.includes('expected 32 hex'))) ctx.addIssue({ code: 'custom', message });
          })
          .readonly()
          .prefault({}),
      })
      .readonly()
      .prefault({}),
  })
  .superRefine((lock, ctx) => {
    if (lock.driver !== 'zwave') return;
    if (lock.zwave.port === undefined) ctx.addIssue({ code: 'custom', path: ['zwave', 'port'], message: 'required when lock.driver is "zwave"' });
    // A lock is included with S2 Access Control; without that key it could only run in plaintext.
    if (lock.zwave.keys.s2AccessControl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['zwave', 'keys', 's2AccessControl'], message: 'required when lock.driver is "zwave"' });
    }
  })
  .readonly()
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

/**
 * The cloud link (DESIGN.md, "Cloud link"). `none` until the installer registers the hub
 * (`embedded` runs aedes in-process with its own CA: the simulated home). `external` needs the
 * hub's certificate, key and the CA to pin.
 */
const cloudSchema = z
  .strictObject({
    broker: z.enum(['none', 'embedded', 'external']).default('none'),
    /** Embedded broker's TLS port on 127.0.0.1. */
    port: z.int().min(1).max(65_535).default(8883),
    url: z.string().regex(/^mqtts:\/\//, { message: 'expected an mqtts:// URL' }).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
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
  })
  .superRefine((cloud, ctx) => {
    if (cloud.broker !== 'external') return;
    for (const key of ['url', 'certFile', 'keyFile', 'caFile'] as const) {
      if (cloud[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required when cloud.broker is "external"' });
    }
  })
  .readonly()
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
    transport: z.enum(['tcp', 'udp']).default('tcp'),
    username: z.string().min(1).max(128).optional(),
    password: z.string().min(1).max(128).optional(),
    /** Seconds of video kept in memory so a visit's clip starts before the door opens. */
    preRollS: z.int().min(1).max(60).default(10),
    /** No new frame for this long while streaming is a stall (the Wi-Fi deauthentication case). */
    stallS: z.int().min(1).max(30).default(3),
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
    delivery: deliverySchema,
  })
  .readonly();

export type HubConfig = z.infer<typeof configSchema>;

// The logger's option types and the schema's enums must not drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _levelsMatch: Same<HubConfig['log']['level'], LogLevel> = true;
const _formatsMatch: Same<HubConfig['log']['format'], LogFormat> = true;
