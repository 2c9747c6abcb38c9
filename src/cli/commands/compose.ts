// `berth compose`: loads the compose bundle (dist/compose.js, or the tsc output beside this file) and hands it
// the arguments; the YAML parser and schema validator stay out of every other command's start-up.
import * as path from 'path';
import { existsSync } from 'fs';
import { StatusError } from '../command';
import type { Cmd } from '../cmd';
import type * as ComposeMain from './compose-main';

/**
 * The compose bundle: beside this file (dist/cli.js, or the tsc output), or, inside the Bun-built executable (whose
 * own files are virtual), beside the executable (dist/berth): Bun runs it there, without a hand-over to Node.
 */
export function loadComposeMain(): typeof ComposeMain {
  const candidates = [path.join(__dirname, 'compose.js'), path.join(__dirname, 'compose-main.js')];
  if (process.versions.bun) candidates.unshift(path.join(path.dirname(process.execPath), 'compose.js'));
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new StatusError(1, `compose not found (looked for ${candidates.join(', ')}); run npm run build`);
  return require(found) as typeof ComposeMain;
}

export function command(_id: string): Cmd {
  return {
    // flags are compose's own: everything after `compose` is passed through untouched
    spec: { path: 'compose', use: '[OPTIONS] COMMAND', short: 'Define and run multi-container applications', flags: [], noInterspersed: true, passThrough: true },
    run: (ctx, p) => loadComposeMain().runCompose(ctx, p.args),
  };
}
