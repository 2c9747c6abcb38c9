// Validation of each compose file (after interpolation, before merging) against the Compose Specification's JSON
// schema (schema/compose-spec.json, see the folder's README for its origin) with ajv. Errors name the key and
// where it was written: "validating compose.yaml:4:5: services.web additional properties 'imag' not allowed".
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Position } from './yaml';
import { cacheGet, cachePut, hashKey } from './cache';

export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

let compiled: ValidateFunction | undefined;
/** Changes whenever the schema file does (the validation cache is keyed by it). */
const SCHEMA_ID = 'compose-spec-2025-schema-v1';

/** The compiled validator: the one generated at build time when present (dist/compose-schema.js), else ajv now. */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  try {
    // beside the bundle (dist/); a computed path so the bundler leaves it to run time
    const generated = require('path').join(__dirname, 'compose-schema-validate.js') as string;
    compiled = require(generated) as ValidateFunction;
    if (typeof compiled !== 'function') compiled = (compiled as unknown as { default: ValidateFunction }).default;
    if (typeof compiled === 'function') return compiled;
  } catch { /* not generated: compile below */ }
  const Ajv = (require('ajv') as { default: new (o: object) => { compile(s: object): ValidateFunction } }).default;
  const ajv = new Ajv({ allErrors: false, strict: false, allowUnionTypes: true, validateSchema: false });
  // the schema names draft-07 without the trailing '#'; ajv knows draft-07 by its other spelling
  const { $schema: _drop, ...schema } = require('./schema/compose-spec.json') as Record<string, unknown>;
  void _drop;
  compiled = ajv.compile(schema);
  return compiled;
}

/** Throws SchemaError when `value` (one file's interpolated tree) does not follow the schema. */
export function validateSchema(value: unknown, filename: string, positions: Map<string, Position>): void {
  // a document validated before (same interpolated content, same schema) is not validated again
  const json = toJson(value);
  const key = hashKey(SCHEMA_ID, JSON.stringify(json));
  if (cacheGet('valid', key) !== undefined) return;
  const validate = validator();
  if (validate(json)) { cachePut('valid', key, ''); return; }
  const err = mostSpecific(validate.errors ?? []);
  if (!err) throw new SchemaError(`validating ${filename}: invalid compose file`);
  const segs = err.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let where = '';
  const extra = err.keyword === 'additionalProperties' ? [...segs, String(err.params.additionalProperty)] : segs;
  for (let n = extra.length; n > 0; n--) {
    const p = positions.get(extra.slice(0, n).join('.'));
    if (p) { where = `:${p.line}:${p.col}`; break; }
  }
  throw new SchemaError(`validating ${filename}${where}: ${describe(err, segs.join('.'))}`);
}

/** JSON's view of the tree: what the schema sees (undefined dropped, like encoding/json does). */
function toJson(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}

/** The error deepest in the document, preferring a concrete keyword over oneOf/anyOf summaries. */
function mostSpecific(errors: ErrorObject[]): ErrorObject | undefined {
  let best: ErrorObject | undefined;
  const score = (e: ErrorObject) => e.instancePath.split('/').length * 10 + (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if' ? 0 : 1);
  for (const e of errors) if (!best || score(e) > score(best)) best = e;
  return best;
}

const human = (t: string) => (t === 'object' ? 'mapping' : t);

function describe(e: ErrorObject, path: string): string {
  const at = path || '(root)';
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at} additional properties '${String(e.params.additionalProperty)}' not allowed`;
    case 'type': {
      const want = String(e.params.type).split(',').map(human).sort();
      return `${at} must be a ${want.length > 1 ? `${want.slice(0, -1).join(', ')} or ${want[want.length - 1]}` : want[0]}`;
    }
    case 'required':
      return `${at} missing property '${String(e.params.missingProperty)}'`;
    case 'enum':
      return `${at} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minimum':
      return `${at} must be greater than or equal to ${String(e.params.limit)}`;
    case 'maximum':
      return `${at} must be less than or equal to ${String(e.params.limit)}`;
    case 'pattern':
      return `${at} does not match pattern ${JSON.stringify(e.params.pattern)}`;
    case 'uniqueItems':
      return `${at} array items[${String(e.params.j)},${String(e.params.i)}] must be unique`;
    case 'propertyNames':
      return `${at} property name '${String(e.params.propertyName)}' is invalid`;
    default:
      return `${at} ${e.message ?? 'is invalid'}`;
  }
}
