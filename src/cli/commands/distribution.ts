// Registry commands: pull, push, login, logout — docker's flags, output and texts. The CLI keeps the
// credentials (docker's config.json or a credential helper) and hands them to the daemon per request.
import { CommandSpec, StatusError, flagDefs, Parsed, BIN } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { progressOut, write } from '../stdio';
import { parseNormalizedNamed, refName, tagNameOnly, ReferenceError, Ref } from './reference';
import { registryAuthHeader } from './registry-auth';

export function command(id: string): Cmd {
  switch (id) {
    case 'pull': case 'image pull': return pullCommand(id);
    case 'push': case 'image push': return pushCommand(id);
    case 'login': return loginCommand();
    case 'logout': return logoutCommand();
  }
  throw new Error(`unknown command ${id}`);
}

function parseRef(s: string): Ref {
  try {
    return parseNormalizedNamed(s);
  } catch (err) {
    if (err instanceof ReferenceError) throw new StatusError(1, `invalid reference format${/[A-Z]/.test(s) ? ': repository name (library/' + s + ') must be lowercase' : ''}`);
    throw err;
  }
}

/** pull and push share their shape: one NAME, -a/--all-tags, --platform, -q, and the same reference checks. */
function transferSpec(id: string, verb: 'pull' | 'push', use: string, short: string, allHelp: string, trustHelp: string, platformHelp: string): CommandSpec {
  return {
    path: id,
    use,
    short,
    aliases: `${BIN} image ${verb}, ${BIN} ${verb}`,
    args: { exact: 1 },
    flags: flagDefs([
      ['a', 'all-tags', 'bool', allHelp],
      ['', 'disable-content-trust', 'bool', trustHelp, 'true'],
      ['', 'platform', 'string', platformHelp],
      ['q', 'quiet', 'bool', 'Suppress verbose output'],
    ]),
  };
}

/** The reference to send: as given with -a (which refuses a tag), else with docker's default tag, announced. */
function transferTarget(ctx: Ctx, p: Parsed): { ref: Ref; target: Ref; all: boolean } {
  const ref = parseRef(p.args[0]);
  const all = p.bool('all-tags');
  if (all && (ref.tag || ref.digest)) throw new StatusError(1, 'tag can\'t be used with --all-tags/-a');
  if (!p.bool('quiet') && !all && !ref.tag && !ref.digest) ctx.out('Using default tag: latest\n');
  return { ref, target: all ? ref : tagNameOnly(ref), all };
}

function pullCommand(id: string): Cmd {
  const spec = transferSpec(id, 'pull', '[OPTIONS] NAME[:TAG|@DIGEST]', 'Download an image from a registry',
    'Download all tagged images in the repository', 'Skip image verification', 'Set platform if server is multi-platform capable');
  return {
    spec,
    async run(ctx, p) {
      const { ref, target, all } = transferTarget(ctx, p);
      const res = await ctx.client().imageCreate(
        { fromImage: refName(target), tag: all ? undefined : (target.digest ?? target.tag), platform: p.str('platform') ? p.str('platform').toLowerCase() : undefined },
        undefined,
        { 'X-Registry-Auth': await registryAuthHeader(ref.domain) },
      );
      await showProgress(res, p.bool('quiet'));
      if (!all) ctx.out(`${target.domain}/${target.path}${target.digest ? '@' + target.digest : ':' + target.tag}\n`);
      return 0;
    },
  };
}

function pushCommand(id: string): Cmd {
  const spec = transferSpec(id, 'push', '[OPTIONS] NAME[:TAG]', 'Upload an image to a registry',
    'Push all tags of an image to the repository', 'Skip image signing',
    'Push a platform-specific manifest as a single-platform image to the registry.\nImage index won\'t be pushed, meaning that other manifests, including attestations won\'t be preserved.\n\'os[/arch[/variant]]\': Explicit platform (eg. linux/amd64)');
  return {
    spec,
    async run(ctx, p) {
      if (parseRef(p.args[0]).digest) throw new StatusError(1, 'cannot push a digest reference');
      const { ref, target, all } = transferTarget(ctx, p);
      const res = await ctx.client().request('POST', `/images/${refName(target)}/push`, {
        query: { tag: all ? undefined : target.tag },
        headers: { 'X-Registry-Auth': await registryAuthHeader(ref.domain) },
      });
      await showProgress(res, p.bool('quiet'));
      if (p.bool('quiet')) ctx.out(`${target.domain}/${target.path}${target.tag ? ':' + target.tag : ''}\n`);
      return 0;
    },
  };
}

async function showProgress(res: import('http').IncomingMessage, quiet: boolean): Promise<void> {
  const { displayJsonMessages, JSONMessageError } = require('./progress') as typeof import('./progress');
  try {
    await displayJsonMessages(res, quiet ? null : progressOut(1));
  } catch (err) {
    if (err instanceof JSONMessageError) throw new StatusError(1, err.message);
    throw err;
  }
}

function loginCommand(): Cmd {
  const spec: CommandSpec = {
    path: 'login',
    use: '[OPTIONS] [SERVER]',
    short: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.',
    args: { max: 1 },
    flags: flagDefs([
      ['p', 'password', 'string', 'Password or Personal Access Token (PAT)'],
      ['', 'password-stdin', 'bool', 'Take the Password or Personal Access Token (PAT) from stdin'],
      ['u', 'username', 'string', 'Username'],
    ]),
  };
  return { spec, run: (ctx, p) => runLogin(ctx, p) };
}

async function runLogin(ctx: Ctx, p: Parsed): Promise<number> {
  const creds = require('../../distribution/credentials') as typeof import('../../distribution/credentials');
  const domain = creds.registryDomain(p.args[0]);
  const key = creds.credentialKey(domain);
  let username = p.str('username');
  let password = p.str('password');
  if (password && p.bool('password-stdin')) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
  if (p.bool('password-stdin')) {
    if (!username) throw new StatusError(1, 'Must provide --username with --password-stdin');
    password = (await readAllStdin()).replace(/\r?\n$/, '');
  } else if (password) {
    ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  const saved = await creds.getCredentials(key).catch(() => undefined);
  if (!username && !password && saved && (saved.password || saved.identitytoken)) {
    // docker first tries what is stored
    try {
      await authenticate(ctx, { ...saved, serveraddress: key });
      ctx.out('Login Succeeded\n');
      return 0;
    } catch { /* fall through to prompting */ }
  }
  if (!username) username = (await prompt(`Username${saved?.username ? ` (${saved.username})` : ''}: `, true)).trim() || saved?.username || '';
  if (!username) throw new StatusError(1, 'Error: Non-null Username Required');
  if (!password) password = await prompt('Password: ', false);
  if (!password) throw new StatusError(1, 'Error: Password Required');
  const result = await authenticate(ctx, { username, password, serveraddress: key });
  const toStore = result.IdentityToken ? { username, identitytoken: result.IdentityToken } : { username, password };
  const where = await creds.storeCredentials(key, toStore);
  if (typeof where === 'string' && where) {
    ctx.err(`WARNING! Your credentials are stored unencrypted in '${where}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
  }
  ctx.out(`${result.Status || 'Login Succeeded'}\n`);
  return 0;
}

async function authenticate(ctx: Ctx, auth: Record<string, string | undefined>): Promise<{ Status: string; IdentityToken?: string }> {
  return ctx.client().json('POST', '/auth', { body: auth }) as Promise<{ Status: string; IdentityToken?: string }>;
}

function logoutCommand(): Cmd {
  const spec: CommandSpec = {
    path: 'logout',
    use: '[SERVER]',
    short: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.',
    args: { max: 1 },
    flags: [],
  };
  return {
    spec,
    async run(ctx, p) {
      const creds = require('../../distribution/credentials') as typeof import('../../distribution/credentials');
      const key = creds.credentialKey(creds.registryDomain(p.args[0]));
      const had = await creds.getCredentials(key).catch(() => undefined);
      if (!had) {
        ctx.out(`Not logged in to ${key}\n`);
        return 0;
      }
      ctx.out(`Removing login credentials for ${key}\n`);
      await creds.eraseCredentials(key);
      return 0;
    },
  };
}

async function readAllStdin(): Promise<string> {
  let s = '';
  for await (const c of process.stdin) s += String(c);
  return s;
}

/** Reads one line from the terminal; without echo for passwords (raw mode, like docker's term.ReadPassword). */
function prompt(question: string, echo: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    write(1, question);
    if (!stdin.isTTY) {
      // not a terminal: read a line as is
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) { stdin.off('data', onData); stdin.pause(); resolve(buf.slice(0, nl).replace(/\r$/, '')); }
      };
      stdin.on('data', onData);
      stdin.once('end', () => resolve(buf));
      return;
    }
    stdin.setRawMode(true);
    let line = '';
    const onData = (d: Buffer) => {
      for (const ch of d.toString()) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false); stdin.off('data', onData); stdin.pause();
          write(1, '\n');
          return resolve(line);
        }
        if (ch === '\u0003') { stdin.setRawMode(false); stdin.off('data', onData); return reject(new StatusError(130, '')); }
        if (ch === '\u007f') { if (line) { line = line.slice(0, -1); if (echo) write(1, '\b \b'); } continue; }
        line += ch;
        if (echo) write(1, ch);
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
