import type { AccessService } from '../access/module.js';
import type { AuditLog } from '../store/audit-log.js';
import { auditExport } from '../store/audit-export.js';
import type { Store } from '../store/store.js';
import { trustStore } from '../store/trust-store.js';
import type { Clock } from '../system/clock.js';
import { ErrorCode, HubError, isHubError } from '../system/errors.js';
import type { ControlHandlers } from './server.js';
import { hubStatus } from './status.js';

/**
 * The control requests served by the running daemon, over its own values: the open store, the
 * audit log (signing with the hub key), the access room's live trust state. A failed audit write
 * goes to `onAuditFailure` (the daemon stops, as for every audit write) and is answered too.
 */
export function controlHandlers(deps: {
  store: Store;
  audit: AuditLog;
  access: Pick<AccessService, 'trust' | 'status'>;
  clock: Clock;
  stateDir: string;
  clockSkewMs: number;
  onAuditFailure: (err: unknown) => void;
}): ControlHandlers {
  const { store, audit, access, clock } = deps;
  /** Runs `fn`; an audit write that failed in it stops the daemon, and still fails the request. */
  const surfacing = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (isHubError(err, ErrorCode.AUDIT_WRITE_FAILED)) deps.onAuditFailure(err);
      throw err;
    }
  };
  const rootChange = (accepted: boolean): void => {
    audit.append({ type: 'key.update', body: { what: 'root', version: 0, accepted, ...(accepted ? {} : { reason: ErrorCode.TRUST_ROOT_REFUSED }) } });
  };
  return {
    status: () => hubStatus(store, { nowMs: clock.now(), clockSkewMs: deps.clockSkewMs, stateDir: deps.stateDir, source: 'daemon', clockTrusted: access.status().clockTrusted }),

    'trust-root': ({ key: hex, replace }) => {
      const key = new Uint8Array(Buffer.from(hex, 'hex'));
      const before = trustStore(store).rootPublicKey();
      if (before !== undefined && Buffer.compare(before, key) === 0) return { outcome: 'unchanged', key: hex };
      if (before !== undefined && !replace) {
        surfacing(() => rootChange(false));
        throw new HubError(
          ErrorCode.TRUST_ROOT_REFUSED,
          `a different root key is already pinned (${toHex(before)}); pass --replace to replace it and drop the keyring and revocation list it signed`,
        );
      }
      try {
        // On record and pinned in one transaction: neither without the other. TrustState refuses a
        // key that is no curve point or of small order (under which anyone can forge) before writing.
        surfacing(() =>
          store.write('full', () => {
            rootChange(true);
            access.trust().pinRoot(key);
          }),
        );
      } catch (err) {
        if (isHubError(err, ErrorCode.TRUST_ROOT_REFUSED)) surfacing(() => rootChange(false));
        // A commit that failed after the trust state took the key: only a restart makes memory
        // and disk agree again, so the daemon stops (fail secure).
        else if (!isHubError(err, ErrorCode.AUDIT_WRITE_FAILED)) deps.onAuditFailure(err);
        throw err;
      }
      return before === undefined ? { outcome: 'pinned', key: hex } : { outcome: 'replaced', key: hex, previous: toHex(before) };
    },

    'audit-export': async ({ from, to, format }, data) => {
      // The daemon signs the checkpoint that ends the range, with the hub key it holds.
      const exported = surfacing(() => auditExport(audit, { from, to, format, nowMs: clock.now() }));
      for (;;) {
        const page = exported.pages.next();
        if (page.done === true) break;
        await data.write(Buffer.concat(page.value));
      }
      return { hubId: exported.hubId, from: exported.from, to: exported.to, events: exported.events() };
    },
  };
}

function toHex(key: Uint8Array): string {
  return Buffer.from(key).toString('hex');
}
