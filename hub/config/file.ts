import { readFileSync } from 'node:fs';
import { ErrorCode, HubError } from '../system/errors.js';
import { isPlainObject, type RawObject } from './layers.js';
import { formatValue } from './problems.js';

/**
 * Reading the config file. Absent is fine when keyhub looked in its default place (the daemon
 * runs on defaults and says so); absent when named by `--config` / `KEYHUB_CONFIG` is an error,
 * since a mistyped path must not quietly mean "defaults". Unreadable (permissions, a directory)
 * is CONFIG_UNREADABLE; readable but not a JSON object is CONFIG_INVALID, like any bad content.
 */

export type ConfigFile = { readonly found: false } | { readonly found: true; readonly raw: RawObject };

export function readConfigFile(path: string, named: boolean): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !named) return { found: false };
    const message =
      code === 'ENOENT'
        ? `configuration file ${path} does not exist`
        : `cannot read configuration file ${path}: ${err instanceof Error ? err.message : String(err)}`;
    const details = code === 'ENOENT' ? ['the path was given by --config or KEYHUB_CONFIG'] : [];
    throw new HubError(ErrorCode.CONFIG_UNREADABLE, message, { cause: err, details });
  }
  // A byte order mark, as some editors write, is not JSON but is not the installer's mistake.
  const body = text.replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body) as unknown;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new HubError(ErrorCode.CONFIG_INVALID, `configuration file ${path} is not valid JSON`, {
      cause: err,
      details: [`${path}: ${withLineAndColumn(reason, body)}`],
    });
  }
  if (!isPlainObject(parsed)) {
    throw new HubError(ErrorCode.CONFIG_INVALID, 'configuration has 1 problem', {
      details: [`(root) = ${formatValue(parsed)} (from ${path}): expected an object`],
    });
  }
  return { found: true, raw: parsed };
}

/**
 * V8 says "at position N", and from Node 22 on appends "(line L column C)" in its own words; people
 * edit by line and column, so the hub says it one way whichever V8 parsed the file.
 */
function withLineAndColumn(message: string, text: string): string {
  const match = /at position (\d+)/.exec(message);
  if (match === null) return message;
  const reason = message.replace(/ \(line \d+ column \d+\)$/, '');
  const before = text.slice(0, Number(match[1]));
  const lines = before.split('\n');
  return `${reason} (line ${lines.length}, column ${(lines.at(-1)?.length ?? 0) + 1})`;
}
