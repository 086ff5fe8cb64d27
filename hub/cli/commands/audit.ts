import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ed25519PublicKey } from '../../../protocols/audit/checkpoint.js';
import { parseExport, type ExportFormat } from '../../../protocols/audit/export-file.js';
import { verifyExport, type FileVerification } from '../../../protocols/audit/verify.js';
import { AuditLog, DEFAULT_CHECKPOINT_EVERY } from '../../store/audit-log.js';
import { exportAudit } from '../../store/audit-export.js';
import { hubId } from '../../store/daemon-runs.js';
import { loadOrCreateHubKey, readHubKey } from '../../store/hub-key.js';
import { databasePath } from '../../store/module.js';
import { openStore } from '../../store/store.js';
import { ErrorCode, HubError } from '../../system/errors.js';
import { createLogger } from '../../system/logger.js';
import type { ResultOf } from '../../../protocols/control/contract.js';
import type { HubConfig } from '../../config/schema.js';
import { loadCliConfig, type CliContext, type GlobalOptions } from '../context.js';
import { askRunningDaemon, refuseBesideLiveDaemon } from '../daemon.js';

/**
 * `keyhub audit export|verify|key`: export a seq range with its checkpoints to
 * stdout (through the running daemon, which signs the closing checkpoint; from the database when
 * none runs), verify an exported file offline against the hub's public key (given by the person
 * verifying, never taken from the file), and print that key.
 */
export default function register(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('export and verify the tamper-evident audit log');

  audit
    .command('export')
    .description('write audit entries and their signed checkpoints to stdout')
    .option('--from <seq>', 'first seq (default: the first stored)', parseSeq)
    .option('--to <seq>', 'last seq (default: the newest)', parseSeq)
    .addOption(new Option('--format <format>', 'JSON lines or a CBOR sequence (RFC 8742)').choices(['jsonl', 'cbor']).default('jsonl'))
    .action(async (opts: { from?: number; to?: number; format: ExportFormat }, cmd: Command) => {
      const { config } = loadCliConfig(cmd.optsWithGlobals<GlobalOptions>(), ctx);
      const out = chunked((bytes) => ctx.stdout.write(bytes as unknown as string));
      const range = { ...(opts.from === undefined ? {} : { from: opts.from }), ...(opts.to === undefined ? {} : { to: opts.to }), format: opts.format };
      const live = await askRunningDaemon(config, ctx, { method: 'audit-export', params: range, offline: 'exporting from the database', onData: out.write });
      const done = live ?? (await exportFromDatabase(config, ctx, range, out.write));
      out.flush();
      ctx.stderr.write(`exported ${done.events} audit entries (seq ${done.from}..${done.to}) of hub ${done.hubId}\n`);
    });

  audit
    .command('verify')
    .description('verify an exported audit file offline; names the first seq where the chain breaks')
    .argument('<file>', 'a file written by `keyhub audit export`')
    .requiredOption('--hub-key <key>', "the hub's Ed25519 public key: 64 hex digits, or a file holding them")
    .option('--json', 'print one JSON object')
    .action((file: string, opts: { hubKey: string; json?: boolean }) => {
      const publicKey = ed25519PublicKey(readKeyArg(opts.hubKey));
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new HubError(ErrorCode.AUDIT_FILE_UNREADABLE, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
      const result = verifyExport(parseExport(bytes), publicKey);
      ctx.stdout.write(opts.json === true ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
      if (!result.ok) {
        const b = result.broken;
        throw new HubError(ErrorCode.AUDIT_VERIFY_FAILED, `${file}: chain breaks at seq ${b?.seq} (${b?.kind}): ${b?.detail}`);
      }
    });

  audit
    .command('key')
    .description("print the hub's Ed25519 public key (hex), for `audit verify --hub-key`")
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = loadCliConfig(cmd.optsWithGlobals<GlobalOptions>(), ctx);
      const log = createLogger({ level: 'warn', format: config.log.format, fd: 2 });
      const store = await openStore({ path: databasePath(config.stateDir), busyTimeoutMs: config.store.busyTimeoutMs, log });
      try {
        const key = readHubKey(store) ?? loadOrCreateHubKey(store);
        ctx.stdout.write(`${key.publicHex}\n`);
      } finally {
        store.close();
      }
    });
}

/** With no daemon running: the CLI reads the log and signs the closing checkpoint with the hub key itself. */
async function exportFromDatabase(
  config: HubConfig,
  ctx: CliContext,
  range: { from?: number; to?: number; format: ExportFormat },
  write: (chunk: Uint8Array) => void,
): Promise<ResultOf<'audit-export'>> {
  const log = createLogger({ level: 'warn', format: config.log.format, fd: 2 });
  const store = await openStore({ path: databasePath(config.stateDir), busyTimeoutMs: config.store.busyTimeoutMs, log });
  try {
    refuseBesideLiveDaemon(store, config);
    const auditLog = new AuditLog({ store, clock: ctx.clock, hubId: hubId(store), hubKey: loadOrCreateHubKey(store), checkpointEvery: DEFAULT_CHECKPOINT_EVERY, log });
    return { hubId: auditLog.hubId, ...exportAudit(auditLog, { ...range, nowMs: ctx.clock.now() }, write) };
  } finally {
    store.close();
  }
}

function parseSeq(value: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a seq number ≥ 1');
  return Number(value);
}

function readKeyArg(arg: string): Uint8Array {
  let text = arg.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    try {
      text = readFileSync(arg, 'utf8').trim();
    } catch (err) {
      throw new HubError(ErrorCode.AUDIT_FILE_UNREADABLE, `--hub-key is neither 64 hex digits nor a readable file: ${(err as Error).message}`);
    }
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new HubError(ErrorCode.AUDIT_FILE_UNREADABLE, '--hub-key must be the 32-byte Ed25519 public key as 64 hex digits');
  return new Uint8Array(Buffer.from(text.toLowerCase(), 'hex'));
}

function describe(r: FileVerification): string {
  const range = r.firstSeq === undefined ? 'no entries' : `seq ${r.firstSeq}..${r.lastSeq}`;
  if (r.ok) return `ok: hub ${r.hubId ?? '?'}, ${range}, ${r.events} entries, ${r.checkpoints} signed checkpoints verified`;
  return `BROKEN at seq ${r.broken?.seq} (${r.broken?.kind}): ${r.broken?.detail}`;
}

/** Gathers small records into ~64 KiB writes. */
function chunked(sink: (bytes: Buffer) => void): { write(chunk: Uint8Array): void; flush(): void } {
  let parts: Uint8Array[] = [];
  let size = 0;
  const flush = (): void => {
    if (size === 0) return;
    sink(Buffer.concat(parts));
    parts = [];
    size = 0;
  };
  return {
    write(chunk) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= 64 * 1024) flush();
    },
    flush,
  };
}
