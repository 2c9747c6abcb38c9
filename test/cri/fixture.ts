// A berth daemon serving the CRI for a test file (or a benchmark): its own data/exec roots and sockets, its own
// CNI configuration directory, bridge (bk…) and subnet (10.64.x.0/24), never /etc/cni/net.d; crictl/critest
// v1.29 from shared/tools/cri-tools; the critest images from test/cri/images/build served by a
// `berth registry serve` on loopback (built once and kept under /var/cache/berth/cri-images/, keyed by the
// builder's sources), pulled through --cri-registry-mirror under their upstream names.
import { execFile, execFileSync } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { createHash } from 'crypto';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TestDaemon, REPO, BERTH, runCmd, RunResult } from '../helpers/daemon';
import { RegistryServer } from '../integration/registry-fixture';

export const CRI_TOOLS = path.resolve(REPO, '../shared/tools/cri-tools');
const IMAGE_CACHE = process.env.BERTH_CRI_IMAGE_CACHE ?? '/var/cache/berth/cri-images';

let tools: { crictl: string; critest: string } | undefined;

/** crictl and critest unpacked into /var/tmp, as the cri-tools README says: once per process, because `unpack`
 * checks both binaries' sha256 (77 MB, ~230 ms) on every run — a cost no crictl call should be timed with. */
export function criTools(): { crictl: string; critest: string } {
  if (!tools) {
    const dir = execFileSync(path.join(CRI_TOOLS, 'unpack'), { encoding: 'utf8' }).trim();
    tools = { crictl: path.join(dir, 'crictl'), critest: path.join(dir, 'critest') };
  }
  return tools;
}

let counter = 0;

export interface CriFixtureOptions {
  /** serve critest's images from a loopback registry (and mirror registry.k8s.io and gcr.io to it) */
  images?: boolean;
  /** more CNI plugin directories (tests put failing plugins there) */
  extraCniBin?: string;
  name?: string;
}

export class CriFixture {
  readonly daemon: TestDaemon;
  readonly confDir: string;
  readonly ipamDir: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly socket: string;
  registry?: RegistryServer;
  private startedAt = Date.now();
  private client?: { runtime: grpc.Client; image: grpc.Client };

  constructor(readonly opts: CriFixtureOptions = {}) {
    this.daemon = new TestDaemon(opts.name ?? 'cri');
    const n = ((process.pid % 200) + counter++ * 37) % 250;
    this.bridge = `bk${process.pid % 10000}c${counter}`;
    this.subnet = `10.64.${n}.0/24`;
    this.confDir = path.join(this.daemon.dir, 'net.d');
    this.ipamDir = path.join(this.daemon.dir, 'cni-ipam');
    this.socket = path.join(this.daemon.execRoot, 'cri.sock');
  }

  /** The conflist the pods use: bridge (with masquerade and hairpin) + portmap, as containerd's examples have it. */
  conflist(extraPlugins: Array<Record<string, unknown>> = []): Record<string, unknown> {
    return {
      cniVersion: '1.0.0', name: `berth-test-${this.bridge}`,
      plugins: [
        { type: 'bridge', bridge: this.bridge, isGateway: true, ipMasq: true, hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: this.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: this.ipamDir } },
        { type: 'portmap', capabilities: { portMappings: true } },
        ...extraPlugins,
      ],
    };
  }

  writeConf(list = this.conflist()): void {
    mkdirSync(this.confDir, { recursive: true });
    writeFileSync(path.join(this.confDir, '10-berth-test.conflist'), JSON.stringify(list, null, 1));
  }

  async start(): Promise<this> {
    this.writeConf();
    const args = ['--cni-conf-dir', this.confDir];
    if (this.opts.extraCniBin) args.push('--cni-bin-dir', `/usr/lib/cni,${this.opts.extraCniBin}`);
    if (this.opts.images) {
      this.registry = await startImageRegistry(this.daemon);
      for (const d of ['registry.k8s.io', 'gcr.io']) args.push('--cri-registry-mirror', `${d}=${this.registry.url}`);
    }
    this.daemon.extraArgs.push(...args);
    await this.daemon.start();
    await this.waitForSocket();
    return this;
  }

  async waitForSocket(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!existsSync(this.socket)) {
      if (Date.now() > deadline) throw new Error(`CRI socket did not appear:\n${this.daemon.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  crictl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const { crictl } = criTools();
    return runCmd(crictl, ['--runtime-endpoint', `unix://${this.socket}`, '--image-endpoint', `unix://${this.socket}`, '--timeout', '60s', ...args], opts);
  }

  /** A raw gRPC call: resolves with the response or the error (code and details), never throws. */
  call(service: 'runtime' | 'image', method: string, req: unknown): Promise<{ res?: any; err?: grpc.ServiceError }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!this.client) {
      const def = protoLoader.loadSync(path.join(REPO, 'src/cri/runtime-v1.proto'), { keepCase: true, longs: String, enums: Number, defaults: true, oneofs: true });
      const pkg = grpc.loadPackageDefinition(def) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      const addr = `unix://${this.socket}`;
      this.client = { runtime: new pkg.runtime.v1.RuntimeService(addr, grpc.credentials.createInsecure()), image: new pkg.runtime.v1.ImageService(addr, grpc.credentials.createInsecure()) };
    }
    const c = this.client[service] as unknown as Record<string, (r: unknown, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void>;
    return new Promise((resolve) => c[method](req, (err, res) => resolve(err ? { err } : { res })));
  }

  /** Removes every pod (and so every container), then the daemon, its bridge and files. */
  async stop(): Promise<void> {
    try {
      if (this.daemon.proc && this.daemon.proc.exitCode === null) {
        const pods = await this.crictl(['pods', '-q']);
        for (const id of pods.stdout.split('\n').filter(Boolean)) await this.crictl(['rmp', '-f', id]);
      }
    } finally {
      this.client?.runtime.close();
      this.client?.image.close();
      await this.registry?.stop();
      await this.daemon.stop();
      await runCmd('ip', ['link', 'del', this.bridge]);
    }
  }

  /** What a pod can leave behind on the host: for the "nothing leaked" checks. */
  leftovers(): { netns: string[]; ipReservations: string[]; mounts: string[]; veths: string[]; cgroups: string[] } {
    const list = (d: string) => { try { return readdirSync(d); } catch { return []; } };
    const execCri = path.join(this.daemon.execRoot, 'cri');
    const ipam = list(this.ipamDir).flatMap((net) => list(path.join(this.ipamDir, net)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)));
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(path.join(this.daemon.execRoot, 'cri')) || (m && m.startsWith(path.join(this.daemon.dataRoot, 'cri'))));
    let veths: string[] = [];
    try {
      veths = readdirSync(`/sys/class/net/${this.bridge}/brif`);
    } catch { /* no bridge: no ports */ }
    // pod cgroups made since this daemon started (another CRI daemon's pods may be there too, older ones)
    const cgroups = list('/sys/fs/cgroup/memory/berth-cri').filter((e) => /^[0-9a-f]{64}$/.test(e))
      .filter((e) => { try { return statSync(`/sys/fs/cgroup/memory/berth-cri/${e}`).ctimeMs >= this.startedAt; } catch { return false; } });
    return { netns: list(path.join(execCri, 'netns')), ipReservations: ipam, mounts, veths, cgroups };
  }
}

/** The critest images in a registry on loopback: built once per version of the builder and kept in the cache. */
export async function startImageRegistry(builder: TestDaemon): Promise<RegistryServer> {
  const src = path.join(REPO, 'test/cri/images');
  const hash = createHash('sha256');
  for (const f of ['build', 'src/webserver.c', 'src/nnp.c']) hash.update(readFileSync(path.join(src, f)));
  const root = path.join(IMAGE_CACHE, `registry-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(path.join(root, '.complete'))) return new RegistryServer(root).start();
  // build into a fresh root (the builder daemon must be up: start it here if the caller did not)
  const started = !builder.proc;
  if (started) await builder.start();
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const reg = await new RegistryServer(tmp).start();
  try {
    await new Promise<void>((resolve, reject) => {
      execFile('bash', [path.join(src, 'build'), reg.hostPort], { env: { ...process.env, BERTH_HOST: builder.host, BERTH: BERTH }, maxBuffer: 16 << 20, timeout: 15 * 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`image build failed: ${stderr || err.message}`)) : resolve()));
    });
  } finally {
    await reg.stop();
  }
  writeFileSync(path.join(tmp, '.complete'), new Date().toISOString());
  rmSync(root, { recursive: true, force: true });
  renameSync(tmp, root);
  if (started) await builder.stopDaemon();
  return new RegistryServer(root).start();
}
