// `docker import --change` / `docker commit --change`: Dockerfile instructions applied to an image config, the
// way the daemon's BuildFromConfig does it. Only the instructions that change metadata are allowed (CMD,
// ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR). Words are split and
// expanded with buildkit's rules (shell-words.ts), against the Env being built, so `ENV PATH=/x:$PATH` works.
import * as path from 'path';
import { EngineError } from '../common/errors';
import { parseGoDuration as goDuration } from '../common/go-format';
import { HealthConfig, ImageRunConfig } from './image-config';
import { envMap, expandWord, splitBlanks, splitWords } from '../common/shell-words';

const VALID = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

const bad = (msg: string) => new EngineError(400, msg);

/** Returns a new config: `base` with `changes` applied in order. Throws EngineError 400 with docker's texts. */
export function applyChanges(base: ImageRunConfig, changes: readonly string[]): ImageRunConfig {
  const config: ImageRunConfig = structuredClone(base);
  const lines = logicalLines(changes.join('\n'));
  const parsed = lines.map(splitInstruction);
  // Like docker: every instruction is checked before any is applied.
  for (const { cmd } of parsed) if (!VALID.has(cmd)) throw bad(`${cmd} is not a valid change command`);
  const state = { cmdSet: false };
  for (const instruction of parsed) apply(config, instruction, state);
  return config;
}

interface Instruction { cmd: string; flags: string[]; rest: string; original: string }

/** Joins continuation lines (trailing backslash) and drops comments and blank lines, as the Dockerfile parser. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (/\\\s*$/.test(line)) { pending += line.replace(/\\\s*$/, ''); continue; }
    const full = pending + line;
    pending = '';
    if (full.trim() !== '') out.push(full);
  }
  if (pending.trim() !== '') out.push(pending);
  return out;
}

function splitInstruction(line: string): Instruction {
  const trimmed = line.trim();
  const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
  const { flags, rest } = extractFlags(m[2]);
  return { cmd: m[1].toLowerCase(), flags, rest, original: trimmed };
}

/** Leading `--name[=value]` words are flags, for every instruction (buildkit's extractBuilderFlags). */
function extractFlags(args: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = args;
  for (;;) {
    const m = /^\s*(--\S*)(\s+|$)/.exec(rest);
    if (!m) break;
    flags.push(m[1]);
    rest = rest.slice(m[0].length);
  }
  return { flags, rest: rest.replace(/^\s+/, '') };
}

function parseFlags(flags: string[], known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of flags) {
    const body = f.slice(2);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    if (!known.includes(name)) throw bad(`unknown flag: ${name}`);
    if (out.has(name)) throw bad(`Duplicate flag specified: ${name}`);
    out.set(name, eq === -1 ? '' : body.slice(eq + 1));
  }
  return out;
}

/** JSON array of strings ("exec form"), or undefined for shell form. Non-string items are an error. */
function jsonArgs(rest: string): string[] | undefined {
  const text = rest.trimStart();
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try { value = JSON.parse(text); } catch { return undefined; }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw bad('when using JSON array syntax, arrays must be comprised of strings only');
  return value as string[];
}

function apply(config: ImageRunConfig, ins: Instruction, state: { cmdSet: boolean }): void {
  const upper = ins.cmd.toUpperCase();
  if (ins.cmd !== 'healthcheck') parseFlags(ins.flags, []);
  const env = envMap(config.Env);
  const expand = (w: string) => expandWord(w, env);
  const oneArg = () => {
    if (ins.rest === '') throw bad(`${upper} requires exactly one argument`);
    return expand(ins.rest);
  };

  switch (ins.cmd) {
    case 'cmd':
      config.Cmd = commandLine(ins.rest);
      state.cmdSet = true;
      break;
    case 'entrypoint':
      config.Entrypoint = commandLine(ins.rest);
      // An ENTRYPOINT resets a CMD inherited from the base, not one set by these same changes.
      if (!state.cmdSet) config.Cmd = null;
      break;
    case 'env':
      for (const [k, v] of keyValues(ins.rest, 'ENV', expand)) setEnv(config, k, v);
      break;
    case 'label':
      for (const [k, v] of keyValues(ins.rest, 'LABEL', expand)) (config.Labels ??= {})[k] = v;
      break;
    case 'expose': {
      const ports = splitBlanks(ins.rest).map(expand);
      if (ports.length === 0) throw bad('EXPOSE requires at least one argument');
      for (const p of ports) for (const key of exposedPorts(p)) (config.ExposedPorts ??= {})[key] = {};
      break;
    }
    case 'volume': {
      const list = (jsonArgs(ins.rest) ?? splitBlanks(ins.rest)).map(expand);
      if (list.length === 0) throw bad('VOLUME requires at least one argument');
      for (const v of list) {
        if (v.trim() === '') throw bad('VOLUME specified can not be an empty string');
        (config.Volumes ??= {})[v.trim()] = {};
      }
      break;
    }
    case 'user':
      config.User = oneArg();
      break;
    case 'workdir': {
      const wd = oneArg();
      config.WorkingDir = wd.startsWith('/') ? path.posix.normalize(wd) : path.posix.join('/', config.WorkingDir ?? '', wd);
      break;
    }
    case 'stopsignal': {
      const sig = oneArg();
      validateSignal(sig);
      config.StopSignal = sig;
      break;
    }
    case 'onbuild': {
      if (ins.rest === '') throw bad('ONBUILD requires at least one argument');
      const trigger = splitInstruction(ins.rest).cmd.toUpperCase();
      if (trigger === 'ONBUILD') throw bad('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'FROM' || trigger === 'MAINTAINER') throw bad(`${trigger} isn't allowed as an ONBUILD trigger`);
      (config.OnBuild ??= []).push(ins.original.replace(/^\s*ONBUILD\s*/i, ''));
      break;
    }
    case 'healthcheck':
      config.Healthcheck = healthcheck(ins);
      break;
  }
}

/** CMD / ENTRYPOINT: exec form as given, shell form wrapped in /bin/sh -c (docker's default SHELL). */
function commandLine(rest: string): string[] {
  return jsonArgs(rest) ?? ['/bin/sh', '-c', rest];
}

/** ENV / LABEL arguments: `k=v k2="v 2"` or the legacy `k the value`. Values are expanded with the env as it was
 * before the instruction (docker's rule: `ENV a=1 b=$a` sees the old a). */
function keyValues(rest: string, name: string, expand: (w: string) => string): Array<[string, string]> {
  const words = splitWords(rest);
  if (words.length === 0) throw bad(`${name} requires at least one argument`);
  let pairs: Array<[string, string]>;
  if (!words[0].includes('=')) {
    const legacy = /^(\S+)[\t\v\f\r ]+([\s\S]*)$/.exec(rest);
    if (!legacy) throw bad(`${name} must have two arguments`);
    pairs = [[legacy[1], legacy[2]]];
  } else {
    pairs = words.map((w) => {
      const eq = w.indexOf('=');
      if (eq === -1) throw bad(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
      return [w.slice(0, eq), w.slice(eq + 1)];
    });
  }
  return pairs.map(([k, v]) => {
    const key = expand(k);
    if (key === '') throw bad(`${name} names can not be blank`);
    return [key, expand(v)];
  });
}

function setEnv(config: ImageRunConfig, key: string, value: string): void {
  const env = (config.Env ??= []);
  const i = env.findIndex((e) => e.split('=', 1)[0] === key);
  if (i === -1) env.push(`${key}=${value}`);
  else env[i] = `${key}=${value}`;
}

/** '80', '80/udp', '8000-8010/tcp' → ['80/tcp'] …, as docker's nat.ParsePortSpecs for EXPOSE. */
function exposedPorts(spec: string): string[] {
  const slash = spec.indexOf('/');
  const port = slash === -1 ? spec : spec.slice(0, slash);
  const proto = (slash === -1 || spec.slice(slash + 1) === '' ? 'tcp' : spec.slice(slash + 1)).toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw bad(`invalid proto: ${proto}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  const start = m ? Number(m[1]) : NaN;
  const end = m && m[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535 || end < start) throw bad(`invalid containerPort: ${port}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

const SIGNALS = new Set(['ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL',
  'PIPE', 'POLL', 'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU',
  'UNUSED', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX']);

/** docker's signal.ParseSignal: a positive number, or a name with or without SIG (RTMIN+n, RTMAX-n too). */
function validateSignal(sig: string): void {
  if (/^\d+$/.test(sig)) {
    if (Number(sig) === 0) throw bad(`Invalid signal: ${sig}`);
    return;
  }
  const name = sig.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name);
  if (SIGNALS.has(name) || (rt && Number(rt[1]) >= 1 && Number(rt[1]) <= 15)) return;
  throw bad(`Invalid signal: ${sig}`);
}

/** Go's time.ParseDuration, in nanoseconds (shared with the Dockerfile parser), as a 400 on bad input. */
export function parseGoDuration(s: string): number {
  try {
    return goDuration(s);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

function healthcheck(ins: Instruction): HealthConfig {
  const words = /^(\S+)\s*([\s\S]*)$/.exec(ins.rest);
  if (!words) throw bad('HEALTHCHECK requires an argument');
  const type = words[1].toUpperCase();
  const args = words[2];
  if (type === 'NONE') {
    if (args !== '' || ins.flags.length > 0) throw bad('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (type !== 'CMD') throw bad(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  const flags = parseFlags(ins.flags, ['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
  const exec = jsonArgs(args);
  const hc: HealthConfig = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', args] };
  const durations: Array<[string, keyof HealthConfig]> = [
    ['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']];
  for (const [flag, field] of durations) {
    const raw = flags.get(flag);
    if (raw === undefined || raw === '') continue;
    const ns = parseGoDuration(raw);
    if (ns !== 0 && ns < 1e6) throw bad(`Interval "${flag}" cannot be less than 1ms`);
    (hc as Record<string, unknown>)[field] = ns;
  }
  const retries = flags.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^-?\d+$/.test(retries)) throw bad(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n < 0) throw bad(`--retries cannot be negative (${n})`);
    if (n > 0) hc.Retries = n;
  }
  return hc;
}
