// The client side's stored registry credentials, in the docker CLI's own file and format so both CLIs share
// logins: $DOCKER_CONFIG/config.json (default ~/.docker/config.json) with
//   "auths": {"<server>": {"auth": base64("user:password"), "identitytoken": "…"}},
//   "credsStore": "<helper>", "credHelpers": {"<server>": "<helper>"}
// A configured helper is the program docker-credential-<helper> (docker-credential-helpers protocol: `get` reads
// the server on stdin and prints {"ServerURL","Username","Secret"}; `store` reads that JSON; `erase` reads the
// server; Username "<token>" marks an identity token). The server key of Docker Hub is
// "https://index.docker.io/v1/", every other registry's is its host[:port].
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../common/atomic';
import { AuthConfig, basicCredentials } from './auth';
export { encodeRegistryAuthHeader, decodeRegistryAuthHeader } from './auth';

export const INDEX_SERVER = 'https://index.docker.io/v1/';
const TOKEN_USERNAME = '<token>';
const NOT_FOUND_MESSAGE = 'credentials not found in native keychain';

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  email?: string;
  identitytoken?: string;
  registrytoken?: string;
  serveraddress?: string;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** The directory of the CLI configuration: $DOCKER_CONFIG or ~/.docker. */
export function configDir(): string {
  return process.env.DOCKER_CONFIG || path.join(process.env.HOME || os.homedir(), '.docker');
}

/** $DOCKER_CONFIG/config.json or ~/.docker/config.json */
export function configPath(): string {
  return path.join(configDir(), 'config.json');
}

/** 'https://host:5000/v2/' → 'host:5000' (the CLI's ConvertToHostname, for old keys with a scheme or path). */
export function convertToHostname(address: string): string {
  let s = address;
  const m = /^(https?):\/\//.exec(s);
  if (m) s = s.slice(m[0].length);
  const slash = s.indexOf('/');
  return slash === -1 ? s : s.slice(0, slash);
}

/** Names Docker Hub goes by in server addresses. */
const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The key credentials are stored under: Docker Hub → "https://index.docker.io/v1/", others host[:port]. */
export function credentialKey(domain: string): string {
  const host = convertToHostname(domain.trim());
  return HUB_HOSTS.has(host.toLowerCase()) ? INDEX_SERVER : host;
}

/** A server address as users and `login`/`POST /auth` give it ('https://index.docker.io/v1/', 'host:5000', or
 * nothing) → the registry domain: 'docker.io' for Docker Hub, else host[:port]. */
export function registryDomain(server: string | undefined): string {
  const host = convertToHostname((server ?? '').trim());
  return host === '' || HUB_HOSTS.has(host.toLowerCase()) ? 'docker.io' : host;
}

async function readConfig(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`loading config file: ${file}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`loading config file: ${file}: not a JSON object`);
  return doc as ConfigFile;
}

async function writeConfig(file: string, cfg: ConfigFile): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(cfg, null, '\t') + '\n', 0o600);
}

/** The helper configured for a server (credHelpers by key or host, else credsStore), if any. */
function helperFor(cfg: ConfigFile, serverAddress: string): string | undefined {
  const helpers = cfg.credHelpers ?? {};
  const h = helpers[serverAddress] ?? helpers[convertToHostname(serverAddress)];
  if (typeof h === 'string' && h) return h;
  return typeof cfg.credsStore === 'string' && cfg.credsStore ? cfg.credsStore : undefined;
}

interface HelperResult { code: number; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }

function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<HelperResult> {
  return new Promise((resolve) => {
    const program = `docker-credential-${helper}`;
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ code: -1, stdout, stderr, spawnError: err as NodeJS.ErrnoException });
      return;
    }
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: -1, stdout, stderr, spawnError: err }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on('error', () => { /* helper exited early; its status tells */ });
    child.stdin.end(input);
  });
}

/** docker-credential-helpers' client error texts. */
function helperError(verb: 'getting' | 'storing' | 'erasing', helper: string, r: HelperResult): Error {
  const err = r.spawnError
    ? (r.spawnError.code === 'ENOENT' ? `exec: "docker-credential-${helper}": executable file not found in $PATH` : r.spawnError.message)
    : `exit status ${r.code}`;
  return new Error(`error ${verb} credentials - err: ${err}, out: \`${r.stdout.trim()}\``);
}

function fromEntry(entry: AuthEntry, serverAddress: string): AuthConfig | undefined {
  const out: AuthConfig = { serveraddress: serverAddress };
  const creds = basicCredentials({ auth: entry.auth, username: entry.username, password: entry.password });
  if (creds) {
    out.username = creds.username;
    out.password = creds.password;
  } else if (entry.auth) {
    // "user:" with an identity token
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) out.username = decoded.slice(0, colon);
  } else if (entry.username) {
    out.username = entry.username;
  }
  if (entry.email) out.email = entry.email;
  if (entry.identitytoken) out.identitytoken = entry.identitytoken;
  if (entry.registrytoken) out.registrytoken = entry.registrytoken;
  return out.username || out.password || out.identitytoken || out.registrytoken ? out : undefined;
}

/**
 * The stored credentials for a server key (see credentialKey), from its helper when one is configured,
 * else from "auths" (exact key, or an old key naming the same host). Undefined when there are none.
 */
export async function getCredentials(serverAddress: string, file = configPath()): Promise<AuthConfig | undefined> {
  const cfg = await readConfig(file);
  const helper = helperFor(cfg, serverAddress);
  if (helper) {
    const r = await runHelper(helper, 'get', serverAddress);
    if (r.code !== 0 || r.spawnError) {
      if (r.stdout.includes(NOT_FOUND_MESSAGE)) return undefined;
      throw helperError('getting', helper, r);
    }
    let doc: { Username?: unknown; Secret?: unknown; ServerURL?: unknown };
    try {
      doc = JSON.parse(r.stdout);
    } catch (err) {
      throw new Error(`error getting credentials - err: ${(err as Error).message}, out: \`${r.stdout.trim()}\``);
    }
    const username = typeof doc.Username === 'string' ? doc.Username : '';
    const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
    if (!username && !secret) return undefined;
    if (username === TOKEN_USERNAME) return { identitytoken: secret, serveraddress: serverAddress };
    return { username, password: secret, serveraddress: serverAddress };
  }
  const auths = cfg.auths ?? {};
  let entry = auths[serverAddress];
  if (!entry) {
    const host = convertToHostname(serverAddress);
    for (const [key, value] of Object.entries(auths)) {
      if (convertToHostname(key) === host) { entry = value; break; }
    }
  }
  return entry && typeof entry === 'object' ? fromEntry(entry, serverAddress) : undefined;
}

/**
 * Stores credentials: with the configured helper (and an empty "auths" entry in the file, as the CLI leaves),
 * else as base64 "user:password" (plus identitytoken) in "auths". The file is replaced atomically with mode
 * 0600, every other key kept.
 */
export async function storeCredentials(serverAddress: string, auth: AuthConfig, file = configPath()): Promise<void> {
  const cfg = await readConfig(file);
  const helper = helperFor(cfg, serverAddress);
  const creds = basicCredentials(auth);
  const username = creds?.username ?? auth.username ?? '';
  const password = creds?.password ?? auth.password ?? '';
  const auths = (cfg.auths && typeof cfg.auths === 'object' ? cfg.auths : {}) as Record<string, AuthEntry>;
  if (helper) {
    const payload = auth.identitytoken
      ? { ServerURL: serverAddress, Username: TOKEN_USERNAME, Secret: auth.identitytoken }
      : { ServerURL: serverAddress, Username: username, Secret: password };
    const r = await runHelper(helper, 'store', JSON.stringify(payload));
    if (r.code !== 0 || r.spawnError) throw helperError('storing', helper, r);
    auths[serverAddress] = auth.email ? { email: auth.email } : {};
  } else {
    const entry: AuthEntry = {};
    if (username || password) entry.auth = Buffer.from(`${username}:${auth.identitytoken ? '' : password}`).toString('base64');
    if (auth.email) entry.email = auth.email;
    if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
    auths[serverAddress] = entry;
  }
  cfg.auths = auths;
  await writeConfig(file, cfg);
}

/** Removes stored credentials (helper and file). Nothing stored is not an error. */
export async function eraseCredentials(serverAddress: string, file = configPath()): Promise<void> {
  const cfg = await readConfig(file);
  const helper = helperFor(cfg, serverAddress);
  if (helper) {
    const r = await runHelper(helper, 'erase', serverAddress);
    if ((r.code !== 0 || r.spawnError) && !r.stdout.includes(NOT_FOUND_MESSAGE)) throw helperError('erasing', helper, r);
  }
  const auths = cfg.auths;
  if (!auths || typeof auths !== 'object') return;
  const host = convertToHostname(serverAddress);
  let changed = false;
  for (const key of Object.keys(auths)) {
    if (key === serverAddress || convertToHostname(key) === host) {
      delete auths[key];
      changed = true;
    }
  }
  if (changed) await writeConfig(file, cfg);
}
