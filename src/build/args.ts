// Build arguments: which ARG has which value where, with Docker's scoping rules.
//  - Global scope: the ARGs before the first FROM, plus the automatic platform args (BUILDPLATFORM,
//    TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, BUILDOS, BUILDARCH, BUILDVARIANT, TARGETSTAGE).
//    Only FROM lines see it.
//  - Stage scope: starts empty. `ARG NAME` inside a stage makes NAME visible from there on; its value is the
//    --build-arg value if one was given, else the ARG's default (expanded with what the stage sees at that point),
//    else the global ARG of the same name, else it stays unset.
//  - ENV wins over ARG: an ENV of the same name overrides the ARG in expansions and in RUN's environment.
//  - The proxy variables (HTTP_PROXY, https_proxy …) given with --build-arg reach RUN without being declared,
//    and are never reported as unused.
// Docker prints `[Warning] One or more build-args [X Y] were not consumed` for --build-arg names that no ARG
// (global or in any built stage) declared.
import { Env, EscapeToken, envMap } from '../common/shell-words';
import type { Platform } from '../storage/image-config';
import type { ArgInstruction } from './dockerfile';
import { ExpandOptions, expandAt } from './expand';

export const PROXY_ARGS: readonly string[] = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY',
  'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];
const PROXY = new Set(PROXY_ARGS);

const formatPlatform = (p: Platform) => [p.os, p.architecture, p.variant].filter((x) => x).join('/');

/** The automatic ARGs of the global scope (`docker build --platform` sets the target; the build platform is the
 * daemon's). `target` is the stage being built (--target), 'default' when none was asked for. */
export function platformArgs(build: Platform, target: Platform, targetStage = ''): Record<string, string> {
  return {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    TARGETSTAGE: targetStage === '' ? 'default' : targetStage,
  };
}

export interface BuildArgsOptions {
  /** `--build-arg` values as the API sends them (buildargs JSON); null = named without a value and unset on the
   * client, which Docker ignores (except for the unused warning). */
  buildArgs?: Readonly<Record<string, string | null | undefined>>;
  /** Automatic global args (platformArgs()); a --build-arg of the same name overrides them. */
  predefined?: Readonly<Record<string, string>>;
  escape?: EscapeToken;
  file?: string;
}

/** One build's arguments: the global scope, the names consumed so far, and a scope per stage. */
export class BuildArgs {
  /** What FROM lines see, once processGlobal() ran. */
  readonly global = new Map<string, string>();
  private readonly given = new Map<string, string>();
  private readonly named: string[];
  private readonly consumed = new Set<string>();
  readonly expandOptions: ExpandOptions;

  constructor(opts: BuildArgsOptions = {}) {
    this.named = Object.keys(opts.buildArgs ?? {});
    for (const [k, v] of Object.entries(opts.buildArgs ?? {})) if (typeof v === 'string') this.given.set(k, v);
    for (const [k, v] of Object.entries(opts.predefined ?? {})) this.global.set(k, this.given.get(k) ?? v);
    this.expandOptions = { escape: opts.escape ?? '\\', file: opts.file ?? 'Dockerfile' };
  }

  /** The --build-arg value for `key`, if one was given with a value. */
  value(key: string): string | undefined {
    return this.given.get(key);
  }

  /** Processes the ARGs before the first FROM, in order; returns the global scope. Throws DockerfileError. */
  processGlobal(args: readonly ArgInstruction[]): ReadonlyMap<string, string> {
    for (const ins of args) {
      for (const def of ins.args) {
        this.consumed.add(def.key);
        const value = this.given.get(def.key)
          ?? (def.value !== undefined ? expandAt(ins, def.value, this.global, this.expandOptions) : undefined);
        if (value !== undefined) this.global.set(def.key, value);
      }
    }
    return this.global;
  }

  /** A fresh scope for the next stage. */
  stage(): StageArgs {
    return new StageArgs(this);
  }

  /** Marks a name as declared (StageArgs.declare does it). */
  consume(key: string): void {
    this.consumed.add(key);
  }

  /** --build-arg names no ARG declared (proxy variables excepted), sorted. */
  unconsumed(): string[] {
    return this.named.filter((k) => !this.consumed.has(k) && !PROXY.has(k)).sort();
  }

  /** Docker's warning line (without newline), or undefined when every build arg was used. */
  unconsumedWarning(): string | undefined {
    const left = this.unconsumed();
    return left.length === 0 ? undefined : `[Warning] One or more build-args [${left.join(' ')}] were not consumed`;
  }

  /** Proxy variables given with --build-arg (they reach RUN without an ARG). */
  proxyEnv(): Array<[string, string]> {
    return [...this.given].filter(([k]) => PROXY.has(k));
  }
}

/** The ARGs declared so far in one stage, and what the stage's instructions see. */
export class StageArgs {
  /** Declared ARGs that have a value, in declaration order. */
  readonly values = new Map<string, string>();
  /** Every ARG name declared in the stage, with or without a value. */
  readonly declared = new Set<string>();

  constructor(private readonly build: BuildArgs) {}

  /**
   * Applies one ARG instruction, name by name: each default is expanded with what the stage sees at that point
   * (`configEnv` is the stage's ENV so far, which wins over ARGs), so `ARG A=1 B=$A` gives B=1. Returns the
   * resolved names and values (for the history entry `ARG A=1 B`). Throws DockerfileError.
   */
  declare(ins: ArgInstruction, configEnv: Env | readonly string[] = new Map()): Array<{ key: string; value?: string }> {
    const env = Array.isArray(configEnv) ? envMap(configEnv as string[]) : (configEnv as Env);
    const out: Array<{ key: string; value?: string }> = [];
    for (const def of ins.args) {
      this.build.consume(def.key);
      this.declared.add(def.key);
      let value = this.build.value(def.key);
      if (value === undefined && def.value !== undefined) {
        value = expandAt(ins, def.value, this.expansionEnv(env), this.build.expandOptions);
      }
      if (value === undefined && def.value === undefined) value = this.build.global.get(def.key);
      if (value !== undefined) this.values.set(def.key, value);
      out.push(value === undefined ? { key: def.key } : { key: def.key, value });
    }
    return out;
  }

  /** The variables instructions are expanded with: the stage's ARGs, overridden by its ENV. */
  expansionEnv(configEnv: Env | readonly string[] = new Map()): Map<string, string> {
    const env = Array.isArray(configEnv) ? envMap(configEnv as string[]) : (configEnv as Env);
    const out = new Map(this.values);
    for (const [k, v] of env) out.set(k, v);
    return out;
  }

  /** The environment of a RUN: the config Env, then the ARGs and proxy build args it does not already set. */
  runEnv(configEnv: readonly string[] = []): string[] {
    const set = envMap(configEnv);
    const out = [...configEnv];
    for (const [k, v] of this.values) if (!set.has(k)) { out.push(`${k}=${v}`); set.set(k, v); }
    for (const [k, v] of this.build.proxyEnv()) if (!set.has(k)) { out.push(`${k}=${v}`); set.set(k, v); }
    return out;
  }
}
