// Interpolates every string of a parsed compose tree (values, not keys), then casts the strings found where the
// spec wants a number or a boolean (`scale: ${N}`), as compose-go does before validating against the schema.
import { substitute, Lookup, InvalidTemplateError, MissingRequiredError } from './template';
import { Tagged } from './yaml';

export class InterpolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterpolationError';
  }
}

type Cast = (s: string, path: string) => unknown;

const toInt: Cast = (s, p) => {
  if (!/^[+-]?\d+$/.test(s.trim())) throw new InterpolationError(`failed to cast to expected type: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax at ${p}`);
  return parseInt(s, 10);
};
const toFloat: Cast = (s, p) => {
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) throw new InterpolationError(`failed to cast to expected type: strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax at ${p}`);
  return n;
};
const toBool: Cast = (s, p) => {
  const l = s.toLowerCase();
  if (['true', 'y', 'yes', 'on'].includes(l)) return true;
  if (['false', 'n', 'no', 'off'].includes(l)) return false;
  throw new InterpolationError(`failed to cast to expected type: invalid boolean: ${s} at ${p}`);
};

const CASTS: Array<[string[], Cast]> = ([
  ['services.*.cpu_count', toInt], ['services.*.cpu_percent', toFloat], ['services.*.cpu_period', toInt],
  ['services.*.cpu_quota', toInt], ['services.*.cpu_rt_period', toInt], ['services.*.cpu_rt_runtime', toInt],
  ['services.*.cpus', toFloat], ['services.*.cpu_shares', toInt], ['services.*.init', toBool],
  ['services.*.depends_on.*.required', toBool], ['services.*.depends_on.*.restart', toBool],
  ['services.*.deploy.replicas', toInt], ['services.*.deploy.restart_policy.max_attempts', toInt],
  ['services.*.healthcheck.retries', toInt], ['services.*.healthcheck.disable', toBool],
  ['services.*.oom_kill_disable', toBool], ['services.*.oom_score_adj', toInt], ['services.*.pids_limit', toInt],
  ['services.*.ports.[].target', toInt], ['services.*.privileged', toBool], ['services.*.read_only', toBool],
  ['services.*.scale', toInt], ['services.*.stdin_open', toBool], ['services.*.tty', toBool],
  ['services.*.ulimits.*', toInt], ['services.*.ulimits.*.hard', toInt], ['services.*.ulimits.*.soft', toInt],
  ['services.*.volumes.[].read_only', toBool], ['services.*.volumes.[].volume.nocopy', toBool],
  ['networks.*.external', toBool], ['networks.*.internal', toBool], ['networks.*.attachable', toBool],
  ['networks.*.enable_ipv6', toBool], ['volumes.*.external', toBool], ['secrets.*.external', toBool], ['configs.*.external', toBool],
] as Array<[string, Cast]>).map(([p, c]) => [p.split('.'), c]);

function castFor(path: string[]): Cast | undefined {
  outer: for (const [pattern, cast] of CASTS) {
    if (pattern.length !== path.length) continue;
    for (let i = 0; i < path.length; i++) {
      const seg = pattern[i];
      if (seg === '*' ? false : seg === '[]' ? !/^\d+$/.test(path[i]) : seg !== path[i]) continue outer;
    }
    return cast;
  }
  return undefined;
}

export interface InterpolateOptions {
  onUnset?: (name: string) => void;
}

/** A new tree with every string value interpolated (keys are kept) and typed where the spec wants it. */
export function interpolateTree(value: unknown, lookup: Lookup, opts: InterpolateOptions = {}, path: string[] = []): unknown {
  if (value instanceof Tagged) return new Tagged(value.tag, interpolateTree(value.value, lookup, opts, path));
  if (typeof value === 'string') {
    let s: string;
    try {
      s = substitute(value, lookup, { onUnset: opts.onUnset });
    } catch (err) {
      if (err instanceof InvalidTemplateError) throw new InterpolationError(`invalid interpolation format for ${path.join('.')}.\nYou may need to escape any $ with another $.\n${value}`);
      if (err instanceof MissingRequiredError) throw new InterpolationError(`error while interpolating ${path.join('.')}: ${err.message}`);
      throw err;
    }
    const cast = castFor(path);
    return cast ? cast(s, path.join('.')) : s;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, lookup, opts, [...path, String(i)]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateTree(v, lookup, opts, [...path, k]);
    return out;
  }
  return value;
}
