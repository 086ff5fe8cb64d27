/**
 * One error type for the whole hub. Every failure a person may have to act on carries a numeric
 * code from one enum, in ranges (DESIGN.md, "Rules of the house"):
 *   1xx config · 2xx access · 3xx lock · 4xx camera · 5xx cloud · 6xx store · 7xx lan · 8xx system.
 * A code, once shipped, keeps its number and meaning: couriers' handhelds, the cloud and exported
 * audit logs see it. Add new codes at the end of their range; never renumber.
 */
export enum ErrorCode {
  // 1xx config
  CONFIG_INVALID = 100,
  CONFIG_UNREADABLE = 101,
  CONFIG_NEWER_VERSION = 102,
  CONFIG_MIGRATION_MISSING = 103,

  // 2xx access (refusal reasons: the courier, the homeowner and the audit log see these)
  // 200–230: offline grants (hub/access, protocols/grant). decide() refuses with exactly one of these.
  GRANT_MALFORMED = 200,
  PRESENTATION_MALFORMED = 201,
  GRANT_MISMATCH = 202,
  WRONG_HUB = 203,
  WRONG_LOCK = 204,
  TRANSPORT_MISMATCH = 205,
  CLOCK_UNTRUSTED = 206,
  GRANT_NOT_YET_VALID = 207,
  GRANT_EXPIRED = 208,
  OUTSIDE_WEEKLY_WINDOW = 209,
  GRANT_REVOKED = 210,
  ISSUER_REVOKED = 211,
  GRANT_USED_UP = 212,
  DELIVERIES_PAUSED = 213,
  CAMERA_UNHEALTHY = 214,
  SIGNAL_TOO_WEAK = 215,
  TOO_FAR_FROM_HOME = 216,
  PACKAGE_NOT_IN_GRANT = 217,
  CHALLENGE_UNKNOWN = 218,
  CHALLENGE_EXPIRED = 219,
  CHALLENGE_USED = 220,
  ISSUER_UNKNOWN = 221,
  ISSUER_CERT_NOT_VALID = 222,
  KIND_NOT_ALLOWED = 223,
  GRANT_SIGNATURE_INVALID = 224,
  PRESENTATION_SIGNATURE_INVALID = 225,
  /** Trust updates (keyring, revocations, signed time) that the hub refuses to install. */
  TRUST_UPDATE_INVALID = 226,
  KEYRING_ROLLBACK = 227,
  REVOCATIONS_ROLLBACK = 228,
  TRUST_ROOT_MISSING = 229,
  /** `keyhub trust-root`: a malformed or weak (small-order) key, or a different root pinned without --replace. */
  TRUST_ROOT_REFUSED = 230,
  // 250–299: keypad codes on a schedule (hub/schedule)
  /** A code's name, PIN, windows, zone or expiry is not acceptable (the message says which). */
  SCHEDULE_CODE_INVALID = 250,
  /** Every slot of the hub's range is taken: remove a code (expired and paused ones hold theirs). */
  SCHEDULE_SLOTS_EXHAUSTED = 251,
  /** No code by that name or id. */
  SCHEDULE_CODE_UNKNOWN = 252,
  /** Another code already has this name. */
  SCHEDULE_NAME_TAKEN = 253,
  /** Another code (the hub's or the owner's own in the lock) already has this PIN: the keypad could not tell who opened. */
  SCHEDULE_PIN_TAKEN = 254,
  // 231–249: the visit (hub/delivery): refusals a courier hears before the door opens
  /** The lock has a visit in progress (or one being recovered after a crash): one visit at a time per lock. */
  VISIT_IN_PROGRESS = 231,
  /** Pet mode is on: the courier is told to leave the parcel outside, the door stays shut. */
  PETS_INSIDE = 232,
  /** A relock (or receipt) asked for a visit this hub does not know. */
  VISIT_UNKNOWN = 233,
  /** The hub is starting or stopping: no visit begins now. */
  VISITS_NOT_TAKEN = 234,
  /** The grant's subject key is of small order or names no point: signatures under it prove nothing. */
  SUBJECT_KEY_REFUSED = 235,
  /** The hub's own view of a request (its clock, policy, flags) holds a value out of range or not a number. */
  CONTEXT_INVALID = 236,

  // 3xx lock
  // 300–339: the Lock interface and the Z-Wave driver (hub/lock, hub/lock/zwave)
  /** No confirmed outcome within the command timeout: the bolt position is unknown. */
  LOCK_TIMEOUT = 300,
  /** The lock reported its bolt blocked. */
  LOCK_JAMMED = 301,
  /** The lock (or the radio/stick in front of it) does not answer. */
  LOCK_UNREACHABLE = 302,
  /** No lock is paired/included, or the configured one is gone from the network. */
  LOCK_NOT_PAIRED = 303,
  /** The lock refuses to drive the bolt on a low battery. */
  LOCK_BATTERY_TOO_LOW = 304,
  /** The lock answered but reported the bolt in the other position than asked (or refused). */
  LOCK_NOT_CONFIRMED = 305,
  /** The driver is not started or was stopped while a command was in flight. */
  LOCK_DRIVER_STOPPED = 306,
  /** The driver could not start (serial port, cache, keys). */
  LOCK_DRIVER_FAILED = 307,
  /** A keypad slot or code outside what the lock accepts. */
  LOCK_CODE_INVALID = 308,
  /** A code set/clear that the lock did not confirm when read back. */
  LOCK_CODE_NOT_CONFIRMED = 309,
  /** Inclusion or exclusion did not complete (or S2 bootstrapping failed). */
  LOCK_INCLUSION_FAILED = 310,
  // 340–379: the BLE driver (hub/lock/ble, protocols/ble)
  /** No usable Bluetooth adapter (none, powered off, or no permission): BLE locks cannot be reached. */
  BLE_UNAVAILABLE = 340,
  /** Pairing with the BLE lock did not complete (not in pairing mode, wrong answer, link lost). */
  BLE_PAIRING_FAILED = 341,
  /** The lock's signal is below the configured RSSI floor: the link is too weak to trust a command to. */
  BLE_OUT_OF_RANGE = 342,
  /** The BLE link dropped while a command was in flight: its outcome is unknown. */
  BLE_LINK_LOST = 343,
  /** The lock refused a frame (bad nonce, failed authentication, stale challenge, unknown authorization). */
  BLE_REFUSED = 344,
  /** The pairing record (keys, nonce counter floor) could not be read or written. */
  BLE_PAIRING_STORE_FAILED = 345,

  // 4xx camera
  /** The camera cannot be reached (TCP connect failed, DNS, refused). */
  CAMERA_UNREACHABLE = 400,
  /** The camera refused our credentials (401 after answering its challenge). */
  CAMERA_AUTH_REFUSED = 401,
  /** The camera broke RTSP/SDP/RTP framing or a size bound (endless header, huge body). */
  CAMERA_PROTOCOL_ERROR = 402,
  /** The camera offers nothing we can record (no H.264 track, transport refused). */
  CAMERA_UNSUPPORTED = 403,
  /** An RTSP request got a non-2xx answer other than 401. */
  CAMERA_REQUEST_FAILED = 404,
  /** An RTSP request got no complete answer in time. */
  CAMERA_TIMEOUT = 405,
  /** Streaming, but no new picture for longer than the stall threshold. */
  CAMERA_STALL = 406,
  /** The camera closed the connection. */
  CAMERA_DISCONNECTED = 407,
  /** Writing a clip failed. */
  CAMERA_RECORDING_FAILED = 408,
  /** Visit clips fill their share of the disk quota: the homeowner must act. */
  CAMERA_CLIP_QUOTA_REACHED = 409,
  /** A recording was asked for while the camera is not streaming (no camera, no entry). */
  CAMERA_NOT_STREAMING = 410,
  /** A live viewer fell too far behind and was dropped. */
  CAMERA_VIEWER_TOO_SLOW = 411,
  /** The camera refused the RTP transport camera.transport names (SETUP answered 461 or 400). */
  CAMERA_TRANSPORT_REFUSED = 412,

  // 5xx cloud
  // 500–549: the cloud link, outbox, downlink intake and embedded broker (hub/cloud)
  /** TLS material or broker settings for the cloud link are missing or unusable. */
  CLOUD_CONFIG_INVALID = 500,
  /** The broker refused or dropped the connection (TLS, certificate, CONNACK reason). */
  CLOUD_CONNECT_FAILED = 501,
  /** A publish was not acknowledged by the broker (QoS 1 PUBACK) or failed to send. */
  CLOUD_PUBLISH_FAILED = 502,
  /** A payload does not match the topic contract (protocols/mqtt/contract.ts). */
  CLOUD_PAYLOAD_INVALID = 503,
  /** A downlink payload was refused: unsigned, forged, replayed, stale or malformed. */
  CLOUD_DOWNLINK_REFUSED = 504,
  /** The embedded broker (aedes) could not start or its CA/certificates could not be made. */
  CLOUD_BROKER_FAILED = 505,
  /** The link is not connected (a request that needs the cloud now). */
  CLOUD_NOT_CONNECTED = 506,
  // 507–520: signed commands on `commands` (protocols/grant/command.ts, hub/cloud/command-check.ts)
  /** Not a signed command: envelope, CBOR, size, unknown action, or a window longer than allowed. */
  COMMAND_MALFORMED = 507,
  /** The command names another hub. */
  COMMAND_WRONG_HUB = 508,
  /** The hub's clock is behind its clock floor: no time-bound command is judged. */
  COMMAND_CLOCK_UNTRUSTED = 509,
  /** Issued later than the hub's clock (beyond the allowed skew). */
  COMMAND_NOT_YET_VALID = 510,
  /** Its window has closed. */
  COMMAND_EXPIRED = 511,
  /** The signing issuer is on the installed revocation list. */
  COMMAND_ISSUER_REVOKED = 512,
  /** The kid names no issuer of the installed keyring. */
  COMMAND_ISSUER_UNKNOWN = 513,
  /** The issuer's certificate is not valid now. */
  COMMAND_ISSUER_CERT_NOT_VALID = 514,
  /** The issuer's certificate does not allow commands (it must list the owner kind). */
  COMMAND_NOT_ALLOWED = 515,
  /** The signature does not verify under the issuer's key. */
  COMMAND_SIGNATURE_INVALID = 516,
  /** The hub stopped while executing the command: its outcome is unknown (never re-run). */
  COMMAND_INTERRUPTED = 517,
  /** The hub has nothing to carry out this action with (e.g. no lock configured). */
  COMMAND_UNAVAILABLE = 518,

  // 6xx store
  STORE_OPEN_FAILED = 600,
  STORE_NEWER_SCHEMA = 601,
  STORE_MIGRATION_FAILED = 602,
  STORE_MIGRATIONS_BROKEN = 603,
  STORE_BACKUP_FAILED = 604,
  // 605–619: the audit log (hub/store/audit-log.ts, `keyhub audit`)
  /** An event outside the closed v1 set, or a body that does not match its schema. */
  AUDIT_EVENT_INVALID = 605,
  /** The audit write did not commit: the action it records must not be reported done. */
  AUDIT_WRITE_FAILED = 606,
  /** The stored chain does not verify (an edited or missing row). */
  AUDIT_CHAIN_BROKEN = 607,
  /** An export range outside what the log holds (or pruned). */
  AUDIT_RANGE_INVALID = 608,
  /** `keyhub audit verify`: the file's chain breaks (the message names the first seq). */
  AUDIT_VERIFY_FAILED = 609,
  /** An audit file or key that cannot be read. */
  AUDIT_FILE_UNREADABLE = 610,
  /** A retention prune that would cut unacknowledged entries or leave no checkpoint at the cut. */
  AUDIT_PRUNE_REFUSED = 611,
  /** The hub's signing key in the store is missing or unusable. */
  HUB_KEY_INVALID = 612,
  // 620–629: the keypad schedule's tables (hub/store/schedule-store.ts)
  /** A stored code does not parse: a damaged or tampered database. */
  STORE_SCHEDULE_INVALID = 620,
  // 613–629: the visit journal (hub/store/visit-journal.ts)
  /** A visit's step (journal row and its audit entry, one transaction) did not commit: the step did not happen. */
  VISIT_JOURNAL_WRITE_FAILED = 613,

  // 7xx lan

  // 8xx system (daemon lifecycle, service manager)
  MODULE_START_FAILED = 800,
  SHUTDOWN_DEADLINE_EXCEEDED = 801,
  // 802–819: the control socket (protocols/control, hub/control): the CLI talking to the daemon
  /** A control request that is not one: not JSON, too long, an unknown method, wrong parameters. */
  CONTROL_REQUEST_INVALID = 802,
  /** The peer on the control socket is neither the daemon's user nor root. */
  CONTROL_PEER_REFUSED = 803,
  /** The daemon runs but cannot be asked (no answer, permission denied, a broken reply). */
  CONTROL_UNREACHABLE = 804,
  /** The daemon cannot serve its control socket (path too long, another daemon answers on it). */
  CONTROL_SOCKET_FAILED = 805,
  /** Too many control connections at once: try again. */
  CONTROL_BUSY = 806,
  // 820: the runtime
  /** The Node running keyhub is older than package.json `engines.node` (checked before anything native loads). */
  RUNTIME_UNSUPPORTED = 820,
}

export type ErrorRange = 'config' | 'access' | 'lock' | 'camera' | 'cloud' | 'store' | 'lan' | 'system';

const RANGES: readonly ErrorRange[] = ['config', 'access', 'lock', 'camera', 'cloud', 'store', 'lan', 'system'];

export function rangeOf(code: ErrorCode): ErrorRange {
  const range = RANGES[Math.floor(code / 100) - 1];
  if (range === undefined) throw new RangeError(`error code ${code} is outside every range`);
  return range;
}

export interface HubErrorOptions {
  cause?: unknown;
  /** Extra lines a person needs to act (e.g. one per config problem). */
  details?: readonly string[];
}

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: ErrorCode;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: HubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }

  /** The enum name, e.g. `STORE_NEWER_SCHEMA`. */
  get codeName(): string {
    return ErrorCode[this.code];
  }

  get range(): ErrorRange {
    return rangeOf(this.code);
  }

  /** One line for a terminal or a journal: `E601 STORE_NEWER_SCHEMA: …`. */
  toLine(): string {
    return `E${this.code} ${this.codeName}: ${this.message}`;
  }

  toJSON(): { code: number; codeName: string; message: string; details: readonly string[] } {
    return { code: this.code, codeName: this.codeName, message: this.message, details: this.details };
  }
}

export function isHubError(err: unknown, code?: ErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}

/** sysexits.h: the service manager and installers read these. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  SOFTWARE: 70,
  CONFIG: 78,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof HubError && err.range === 'config') return ExitCode.CONFIG;
  return ExitCode.FAILURE;
}
