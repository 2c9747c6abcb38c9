// Build-time variable substitution: which parts of which instruction Docker expands, and how.
//  - ADD, COPY (sources, destination, --chown, --chmod, ADD --checksum; heredoc bodies with an unquoted
//    delimiter), ENV and LABEL (keys and values), EXPOSE (then split into words), STOPSIGNAL, USER, VOLUME,
//    WORKDIR, RUN --mount options: with the stage's variables (its declared ARGs, overridden by its ENV).
//  - FROM (image and --platform): with the global ARGs only (expandFrom).
//  - ARG defaults: one after the other, each seeing the ones before (args.ts, StageArgs.declare).
//  - RUN/CMD/ENTRYPOINT/HEALTHCHECK/SHELL: never; the shell expands at run time.
//  - ONBUILD: not now; the trigger is expanded as its own instruction in the downstream build.
// Every variable in one instruction sees the values from before the instruction (`ENV a=1 b=$a` uses the old a).
import { EngineError } from '../common/errors';
import { goQuote } from '../common/go-format';
import { Env, EscapeToken, lex } from '../common/shell-words';
import { DockerfileError, Instruction, Stage, parseRunMount } from './dockerfile';

/** Expands one word; errors read like Docker's: `failed to process "${X:?}": X: is not allowed to be unset`. */
export function expand(word: string, env: Env, escape: EscapeToken = '\\'): string {
  return lexed(word, env, escape).result;
}

/** Expands, then splits at unquoted blanks (EXPOSE: `EXPOSE $PORTS` with PORTS="80 443" is two ports). */
export function expandToWords(word: string, env: Env, escape: EscapeToken = '\\'): string[] {
  return lexed(word, env, escape).words;
}

function lexed(word: string, env: Env, escape: EscapeToken) {
  try {
    return lex(word, env, { escape });
  } catch (err) {
    if (err instanceof EngineError) throw new EngineError(400, `failed to process ${goQuote(word)}: ${err.message}`);
    throw err;
  }
}

/** A heredoc body for COPY/ADD: variables only; quotes and escapes other than `\$` are the file's content. */
export function expandHeredoc(data: string, env: Env): string {
  try {
    return lex(data, env, { skipQuotes: true }).result;
  } catch (err) {
    if (err instanceof EngineError) throw new EngineError(400, `failed to process ${goQuote(data)}: ${err.message}`);
    throw err;
  }
}

export interface ExpandOptions {
  escape?: EscapeToken;
  /** For error locations; default "Dockerfile". */
  file?: string;
}

/** Attaches the instruction's place to an expansion error (the builder can print err.excerpt()). */
function located<T>(file: string, line: number, endLine: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EngineError && !(err instanceof DockerfileError)) {
      throw new DockerfileError(file, line, endLine, err.message, err.message);
    }
    throw err;
  }
}

/** One word of an instruction (an ARG default), with the instruction's place on errors. */
export function expandAt(at: { line: number; endLine: number }, word: string, env: Env, opts: ExpandOptions = {}): string {
  return located(opts.file ?? 'Dockerfile', at.line, at.endLine, () => expand(word, env, opts.escape ?? '\\'));
}

/**
 * A copy of `ins` with its variables substituted from `env` (see the list at the top), as the builder needs it
 * just before executing it. ARG comes back unchanged (use StageArgs.declare), so do instructions Docker does not
 * expand. RUN gets `mounts` (its --mount options validated after substitution). Throws DockerfileError.
 */
export function expandInstruction<T extends Instruction>(ins: T, env: Env, opts: ExpandOptions = {}): T {
  const escape = opts.escape ?? '\\';
  const x = (w: string) => expand(w, env, escape);
  return located(opts.file ?? 'Dockerfile', ins.line, ins.endLine, () => {
    const out = structuredClone(ins) as Instruction;
    switch (out.kind) {
      case 'ENV':
      case 'LABEL':
        out.pairs = out.pairs.map((p) => ({ ...p, key: x(p.key), value: x(p.value) }));
        break;
      case 'COPY':
      case 'ADD':
        if (out.chown !== undefined) out.chown = x(out.chown);
        if (out.chmod !== undefined) out.chmod = x(out.chmod);
        if (out.kind === 'ADD' && out.checksum !== undefined) out.checksum = x(out.checksum);
        out.sources = out.sources.map(x);
        out.dest = x(out.dest);
        out.inline = out.inline.map((s) => (s.expand ? { ...s, data: expandHeredoc(s.data, env) } : s));
        break;
      case 'EXPOSE':
        out.ports = out.ports.flatMap((p) => expandToWords(p, env, escape));
        break;
      case 'STOPSIGNAL':
        out.signal = x(out.signal);
        break;
      case 'USER':
        out.user = x(out.user);
        break;
      case 'VOLUME':
        out.volumes = out.volumes.map(x);
        break;
      case 'WORKDIR':
        out.path = x(out.path);
        break;
      case 'RUN':
        out.mounts = out.mountSpecs.map((spec) => parseRunMount(spec, x));
        break;
      default:
        break;
    }
    return out as T;
  });
}

/**
 * FROM's image and platform with the global ARGs (the only variables FROM can see). Throws DockerfileError:
 * `base name (${X}) should not be blank`, `empty platform value from expression $P`, or an expansion error.
 */
export function expandFrom(stage: Stage, globalArgs: Env, opts: ExpandOptions = {}): { image: string; platform?: string } {
  const escape = opts.escape ?? '\\';
  return located(opts.file ?? 'Dockerfile', stage.line, stage.endLine, () => {
    const image = expand(stage.from.image, globalArgs, escape);
    if (image === '') throw new EngineError(400, `base name (${stage.from.image}) should not be blank`);
    if (stage.from.platform === undefined) return { image };
    let platform: string;
    try {
      platform = expand(stage.from.platform, globalArgs, escape);
    } catch (err) {
      throw new EngineError(400, `failed to process arguments for platform: ${(err as Error).message}`);
    }
    if (platform === '') throw new EngineError(400, `empty platform value from expression ${stage.from.platform}`);
    return { image, platform };
  });
}
