import type { Command } from 'commander';
import { runHub } from '../../main.js';
import { OVERRIDE_FLAGS, modeOf, overridesOf, type CliContext, type GlobalOptions } from '../context.js';

export default function register(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run the hub daemon in the foreground (systemd: Type=notify)')
    .action(async (_opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const code = await runHub({
        mode: modeOf(globals, ctx.env),
        configPath: globals.config,
        overrides: overridesOf(globals),
        overrideFlags: OVERRIDE_FLAGS,
        env: ctx.env,
        cwd: ctx.cwd,
        clock: ctx.clock,
        stderr: ctx.stderr,
        onShutdownSignal(handler) {
          const onTerm = (): void => handler('SIGTERM');
          const onInt = (): void => handler('SIGINT');
          process.on('SIGTERM', onTerm);
          process.on('SIGINT', onInt);
          return () => {
            process.off('SIGTERM', onTerm);
            process.off('SIGINT', onInt);
          };
        },
      });
      process.exitCode = code;
    });
}
