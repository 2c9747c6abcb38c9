// `berth rootless setup USER`: prepares the host for USER's rootless daemon (src/rootless/setup.ts). The work is a
// separate bundle (dist/rootless-setup.js) loaded only here, like `registry serve`.
import * as path from 'path';
import { existsSync } from 'fs';
import { CommandSpec, StatusError, flagDefs, Parsed } from '../command';
import type { Cmd, Ctx } from '../cmd';
// type only (erased at build): the contract with the setup bundle, checked by tsc
import type * as RootlessSetup from '../../rootless/setup';

export function command(id: string): Cmd {
  if (id === 'rootless setup') return setupCommand(id);
  throw new Error(`unknown command ${id}`);
}

function setupCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: 'USER',
    short: 'Prepare this host for USER\'s rootless daemon (packages, subordinate ids, devices); run as root',
    args: { exact: 1 },
    flags: flagDefs([]),
  };
  return { spec, run: (ctx, p) => runSetup(ctx, p) };
}

function loadSetup(): typeof RootlessSetup {
  const candidates = [path.join(__dirname, 'rootless-setup.js'), path.join(__dirname, '..', '..', 'rootless', 'setup.js')];
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new StatusError(1, `rootless setup not found (looked for ${candidates.join(', ')}); run npm run build`);
  return require(found) as typeof RootlessSetup;
}

async function runSetup(ctx: Ctx, p: Parsed): Promise<number> {
  const setup = loadSetup();
  try {
    const report = await setup.rootlessSetup(p.args[0]);
    for (const line of report.lines) ctx.out(`${line}\n`);
    return 0;
  } catch (err) {
    throw new StatusError(1, `rootless setup: ${(err as Error).message}`);
  }
}
