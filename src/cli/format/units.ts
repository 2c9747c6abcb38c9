// docker/go-units and Go time helpers, byte-for-byte: HumanDuration ("2 minutes"), HumanSize ("4.26MB",
// SI units, 3 significant digits in ps/images), RAMInBytes ("512m"), Go durations ("1m30s"), and
// time.Time.String() ("2025-05-30 12:07:14 +0000 UTC").
import { formatFloat } from './gofmt';

/** units.HumanDuration of a duration in milliseconds. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3600000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3600000) / 24 / 365)} years`;
}

const decimalAbbrs = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const binaryAbbrs = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, map: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < map.length - 1) {
    size /= base;
    i++;
  }
  return [size, map[i]];
}

/** units.HumanSizeWithPrecision: "%.<p>g" + SI unit. */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [s, unit] = sizeAndUnit(size, 1000, decimalAbbrs);
  return formatFloat(s, 'g', precision) + unit;
}

/** units.HumanSize (4 significant digits). */
export const humanSize = (size: number): string => humanSizeWithPrecision(size, 4);

/** units.BytesSize ("%.4g" + binary unit), used by `info` for Total Memory. */
export function bytesSize(size: number): string {
  const [s, unit] = sizeAndUnit(size, 1024, binaryAbbrs);
  return formatFloat(s, 'g', 4) + unit;
}

function parseSize(sizeStr: string, binary: boolean): number {
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ('01234567890. '.includes(sizeStr[i])) { sep = i; break; }
  }
  if (sep === -1) throw new Error(`invalid size: '${sizeStr}'`);
  let num: string;
  let sfx: string;
  if (sizeStr[sep] !== ' ') { num = sizeStr.slice(0, sep + 1); sfx = sizeStr.slice(sep + 1); }
  else { num = sizeStr.slice(0, sep); sfx = sizeStr.slice(sep + 1); }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  let size = parseFloat(num);
  if (size < 0) throw new Error(`invalid size: '${sizeStr}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  const lsfx = sfx.toLowerCase();
  if (lsfx[0] === 'b') {
    if (lsfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const idx = 'kmgtp'.indexOf(lsfx[0]);
  if (idx < 0) throw bad();
  size *= Math.pow(binary ? 1024 : 1000, idx + 1);
  if (lsfx.length === 2 && lsfx[1] !== 'b') throw bad();
  if (lsfx.length === 3 && lsfx.slice(1) !== 'ib') throw bad();
  return Math.trunc(size);
}

/** units.RAMInBytes: "512m" → 536870912 (binary multiples). */
export const ramInBytes = (s: string): number => parseSize(s, true);
/** units.FromHumanSize: "1.5GB" → 1500000000 (decimal multiples). */
export const fromHumanSize = (s: string): number => parseSize(s, false);

const durationUnits: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

/** time.ParseDuration → nanoseconds. Throws with Go's message. */
export function parseGoDuration(s: string): number {
  const orig = s;
  const err = () => new Error(`time: invalid duration ${quote(orig)}`);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') { neg = s[0] === '-'; s = s.slice(1); }
  if (s === '0') return 0;
  if (s === '') throw err();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(\.(\d*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.') throw err();
    if (m[1] === '' && (m[3] === undefined || m[3] === '')) throw err();
    s = s.slice(m[0].length);
    const u = /^[^\d.]+/.exec(s);
    if (!u) throw new Error(`time: missing unit in duration ${quote(orig)}`);
    const unit = durationUnits[u[0]];
    if (unit === undefined) throw new Error(`time: unknown unit ${quote(u[0])} in duration ${quote(orig)}`);
    s = s.slice(u[0].length);
    total += parseFloat((m[1] || '0') + (m[3] ? '.' + m[3] : '')) * unit;
  }
  return neg ? -total : total;
}

const quote = (s: string) => JSON.stringify(s);

/** time.Duration.String() of nanoseconds ("1m30s", "0s", "1.5s", "100ms"). */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(Math.round(ns));
  let out: string;
  if (u < 1e9) {
    let unit: string;
    let div: number;
    if (u < 1e3) { return (neg ? '-' : '') + u + 'ns'; }
    else if (u < 1e6) { unit = 'µs'; div = 1e3; }
    else { unit = 'ms'; div = 1e6; }
    out = trimFrac(u / div) + unit;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    const sec = trimFrac(u / 1e9) + 's';
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return (neg ? '-' : '') + out;
}

const trimFrac = (x: number) => String(parseFloat(x.toFixed(9)));

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

let zoneCache: string | undefined;
/** The local zone abbreviation Go would print (UTC when the host runs in UTC). */
function zoneName(d: Date): string {
  const off = -d.getTimezoneOffset();
  if (off === 0 && (!process.env.TZ || /^(UTC|Etc\/UTC|UTC0|:?UTC|GMT|Etc\/GMT)$/.test(process.env.TZ))) return 'UTC';
  if (zoneCache !== undefined) return zoneCache;
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d);
    const z = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
    zoneCache = /^GMT[+-]/.test(z) || z === '' ? offsetString(off, false) : z;
  } catch {
    zoneCache = offsetString(off, false);
  }
  return zoneCache;
}

function offsetString(offMin: number, colon: boolean): string {
  const sign = offMin < 0 ? '-' : '+';
  const a = Math.abs(offMin);
  return sign + pad2(Math.floor(a / 60)) + (colon ? ':' : '') + pad2(a % 60);
}

/** Go's time.Unix(sec, 0).String() in the local zone: "2006-01-02 15:04:05 -0700 MST". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const off = -d.getTimezoneOffset();
  return `${String(d.getFullYear()).padStart(4, "0")}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${offsetString(off, false)} ${zoneName(d)}`;
}

/** RFC3339Nano with Go's trimmed fraction, local zone, like time.Format(time.RFC3339Nano). */
export function rfc3339Local(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const frac = d.getMilliseconds() ? '.' + String(d.getMilliseconds()).padStart(3, '0').replace(/0+$/, '') : '';
  const zone = off === 0 ? 'Z' : offsetString(off, true);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}${frac}${zone}`;
}

/**
 * api/types/time.GetTimestamp: turns --since/--until values (durations like "10m", RFC3339 dates, unix
 * timestamps) into the "seconds.nanoseconds" string the API wants.
 */
export function getTimestamp(value: string, nowMs: number = Date.now()): string {
  if (value !== '0') {
    try {
      const ns = parseGoDuration(value);
      return String(Math.floor((nowMs - ns / 1e6) / 1000));
    } catch { /* not a duration */ }
  }
  const parseInLocation = !/[zZ+]/.test(value) && (value.match(/-/g) ?? []).length !== 3;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(value);
  if (m) {
    const [, Y, Mo, D, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    if (!parseInLocation && !zone) throw new Error(`parsing time ${quote(value)}: cannot parse "" as "Z07:00"`);
    let ms: number;
    if (zone) {
      const off = zone === 'Z' || zone === 'z' ? 0 : (zone[0] === '-' ? -1 : 1) * (parseInt(zone.slice(1, 3), 10) * 60 + parseInt(zone.slice(4), 10));
      ms = Date.UTC(+Y, +Mo - 1, +D, +h, +mi, +s) - off * 60000;
    } else {
      ms = new Date(+Y, +Mo - 1, +D, +h, +mi, +s).getTime();
    }
    const sec = Math.floor(ms / 1000);
    const nanos = frac ? frac.padEnd(9, '0') : '000000000';
    return `${sec}.${nanos}`;
  }
  if (value.includes('-')) throw new Error(`parsing time ${quote(value)}: cannot parse ${quote(value)} as "2006-01-02"`);
  if (!/^\d+(\.\d+)?$/.test(value)) throw new Error(`failed to parse value as time or duration: ${quote(value)}`);
  return value;
}

/**
 * time.Time.String() of a timestamp the API sent as RFC 3339 (network Created): Go keeps the wall clock
 * and offset it parsed; "Z" is UTC, an offset that is the local one at that instant takes the local zone's
 * name, any other offset has no name and prints as "+0200 +0200". Missing means Go's zero time.
 */
export function goTimeStringRfc3339(s: string | undefined): string {
  if (!s) return '0001-01-01 00:00:00 +0000 UTC';
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return s;
  const frac = (m[7] ?? '').slice(0, 9).replace(/0+$/, '');
  let zone = '+0000 UTC';
  if (!/^[Zz]$/.test(m[8])) {
    const off = (m[8][0] === '-' ? -1 : 1) * (parseInt(m[8].slice(1, 3), 10) * 60 + parseInt(m[8].slice(4, 6), 10));
    const d = new Date(Date.parse(s));
    const num = offsetString(off, false);
    zone = !isNaN(d.getTime()) && -d.getTimezoneOffset() === off ? `${num} ${zoneName(d)}` : `${num} ${num}`;
  }
  return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}${frac ? '.' + frac : ''} ${zone}`;
}
