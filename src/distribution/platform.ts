// Choosing the manifest for a platform from a manifest list / OCI index, with containerd's rules
// (platforms.Only): names are normalized (aarch64 → arm64, armhf → arm/v7, x86_64 → amd64; arm64 means
// arm64/v8, arm means arm/v7), and a platform also accepts what it can run, best first: amd64 → 386;
// arm64/v8.x → lower v8.y → arm/v8 … arm/v5; arm/vN → arm/vN-1 … v5. Entries without a platform match last;
// attestation manifests (vnd.docker.reference.type) never match.
import { parsePlatform as parsePlatformSpec } from '../storage/image-config';
import type { ManifestDescriptor, ManifestIndex } from './media-types';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64le',
};

/** This host: linux/amd64, linux/arm64/v8 … (arm: v7 unless node says otherwise). */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') {
    const v = (process.config.variables as { arm_version?: string }).arm_version;
    return { os: 'linux', architecture, variant: v ? `v${v}` : 'v7' };
  }
  return { os: 'linux', architecture };
}

/** containerd's normalizeArch + normalizeOS. */
export function normalizePlatform(p: Platform): Platform {
  const os = (p.os || 'linux').toLowerCase() === 'macos' ? 'darwin' : (p.os || 'linux').toLowerCase();
  let arch = (p.architecture ?? '').toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386': arch = '386'; variant = ''; break;
    case 'x86_64': case 'x86-64': case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64': case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf': arch = 'arm'; variant = 'v7'; break;
    case 'armel': arch = 'arm'; variant = 'v6'; break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  return variant ? { os, architecture: arch, variant } : { os, architecture: arch };
}

/**
 * Parses '--platform': 'linux/arm64/v8', 'linux/amd64', 'arm64' (just an arch means linux). Empty → this host.
 * Errors are docker's texts (via the storage layer's parser).
 */
export function parsePlatform(s?: string): Platform {
  if (!s) return hostPlatform();
  const p = parsePlatformSpec(s);
  const n = normalizePlatform(p);
  // keep arm64's implicit v8 visible, as docker prints it
  if (n.architecture === 'arm64' && !n.variant) return { ...n, variant: 'v8' };
  return n;
}

/** 'linux/arm64/v8' */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

const ARM64_VERSIONS: Record<string, { major: number[]; minor: number[] }> = (() => {
  const out: Record<string, { major: number[]; minor: number[] }> = {};
  for (let m = 0; m <= 9; m++) out[m === 0 ? 'v8' : `v8.${m}`] = { major: [8], minor: [m] };
  out['v8.0'] = { major: [8], minor: [0] };
  for (let m = 0; m <= 7; m++) out[m === 0 ? 'v9' : `v9.${m}`] = { major: [9, 8], minor: [m, Math.min(m + 5, 9)] };
  out['v9.0'] = { major: [9, 8], minor: [0, 5] };
  return out;
})();

/** The platforms `p` can run, best first (containerd's platformVector). Entries are normalized. */
export function compatiblePlatforms(p: Platform): Platform[] {
  const n = normalizePlatform(p);
  const mk = (architecture: string, variant?: string) => normalizePlatform({ os: n.os, architecture, variant });
  switch (n.architecture) {
    case 'amd64': {
      const out = [n];
      const v = Number((n.variant ?? '').replace(/^v/, ''));
      if (Number.isInteger(v) && v > 1) for (let i = v - 1; i >= 1; i--) out.push(mk('amd64', `v${i}`));
      out.push(mk('386'));
      return out;
    }
    case 'arm': {
      const out = [n];
      const v = Number((n.variant ?? '').replace(/^v/, ''));
      if (Number.isInteger(v) && v > 5) for (let i = v - 1; i >= 5; i--) out.push(mk('arm', `v${i}`));
      return out;
    }
    case 'arm64': {
      const variant = n.variant || 'v8';
      const versions = ARM64_VERSIONS[variant];
      if (!versions) return [n];
      const out: Platform[] = [];
      versions.major.forEach((major, i) => {
        for (let minor = versions.minor[i]; minor >= 0; minor--) out.push(mk('arm64', minor === 0 ? `v${major}` : `v${major}.${minor}`));
      });
      return [...out, ...compatiblePlatforms({ os: n.os, architecture: 'arm', variant: 'v8' })];
    }
    default:
      return [n];
  }
}

const samePlatform = (a: Platform, b: Platform) => a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');

/** Whether an index entry is an attestation/signature rather than an image (buildkit's attestation manifests). */
export function isAttestation(d: ManifestDescriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] !== undefined
    || (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown');
}

/** Every matching entry, best first; entries without a platform come last (docker accepts them). */
export function matchingManifests(index: ManifestIndex, platform: Platform): ManifestDescriptor[] {
  const order = compatiblePlatforms(platform);
  const ranked: { d: ManifestDescriptor; rank: number; pos: number }[] = [];
  index.manifests.forEach((d, pos) => {
    if (isAttestation(d)) return;
    if (!d.platform) {
      ranked.push({ d, rank: order.length, pos });
      return;
    }
    const n = normalizePlatform({ os: d.platform.os, architecture: d.platform.architecture, variant: d.platform.variant });
    const rank = order.findIndex((o) => samePlatform(o, n));
    if (rank !== -1) ranked.push({ d, rank, pos });
  });
  ranked.sort((a, b) => a.rank - b.rank || a.pos - b.pos);
  return ranked.map((r) => r.d);
}

/** The best manifest of a list for a platform (default: this host), or undefined when none fits. */
export function selectManifest(index: ManifestIndex, platform: Platform = hostPlatform()): ManifestDescriptor | undefined {
  return matchingManifests(index, platform)[0];
}
