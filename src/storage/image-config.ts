// The image config document (OCI image-spec config.json, plus the fields docker adds). Its sha256 is the
// image id, so it is stored byte for byte as a blob and parsed into these types when loaded.
import { EngineError } from '../common/errors';

export interface HealthConfig {
  /** [] inherit, ['NONE'], ['CMD', …args], ['CMD-SHELL', command] */
  Test?: string[];
  /** Nanoseconds, like docker's JSON. */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** The defaults a container inherits from its image (config.config in the document). */
export interface ImageRunConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  // docker extensions
  OnBuild?: string[];
  Shell?: string[];
  Healthcheck?: HealthConfig;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfigFile {
  created?: string;
  author?: string;
  architecture: string;
  variant?: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  config?: ImageRunConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
  // docker extensions (moby image.V1Image)
  comment?: string;
  parent?: string;
  docker_version?: string;
}

export interface Platform { os: string; architecture: string; variant?: string }

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', i386: '386', i686: '386', armhf: 'arm', armel: 'arm',
};
const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64le' };

export function hostPlatform(): Platform {
  return { os: 'linux', architecture: NODE_ARCH[process.arch] ?? process.arch };
}

/** Parses 'os[/arch[/variant]]' (or just an arch) like containerd's platforms.Parse; only linux images can run
 * here, so any other os is refused with docker's text. */
export function parsePlatform(spec: string | undefined): Platform {
  if (!spec) return hostPlatform();
  const parts = spec.toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new EngineError(400, `"${spec}": unknown operating system or architecture: invalid argument`);
  }
  let [os, arch, variant] = parts;
  if (parts.length === 1 && os !== 'linux') { arch = os; os = 'linux'; }
  if (os !== 'linux') throw new EngineError(400, `image operating system "${os}" cannot be used on this platform`);
  const architecture = ARCH_ALIASES[arch ?? ''] ?? arch ?? hostPlatform().architecture;
  return variant ? { os, architecture, variant } : { os, architecture };
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Checks the parts of a config document the store relies on (rootfs, os/arch); the rest passes through. */
export function parseConfigFile(bytes: Uint8Array | string): ImageConfigFile {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new EngineError(400, `invalid image config: ${(err as Error).message}`);
  }
  const c = doc as Partial<ImageConfigFile> | null;
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw new EngineError(400, 'invalid image config: not an object');
  if (!c.rootfs || c.rootfs.type !== 'layers' || !isStringArray(c.rootfs.diff_ids)) {
    throw new EngineError(400, 'invalid image config: rootfs must be {"type":"layers","diff_ids":[…]}');
  }
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string') {
    throw new EngineError(400, 'invalid image config: os and architecture are required');
  }
  return c as ImageConfigFile;
}
