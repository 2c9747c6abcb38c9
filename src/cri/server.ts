// The CRI server: RuntimeService and ImageService of runtime.v1 over gRPC on a unix socket, composed from the
// pod, container, exec, image, stats and streaming parts. The daemon creates one and calls start()/stop().
// The gRPC stack (grpc-js, protobufjs: ~18 MiB of the daemon's RSS) loads on the socket's first connection, not
// at daemon start: a daemon no kubelet talks to never pays for it. Pods and containers are recovered at start.
import { promises as fs } from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { Duplex } from 'stream';
import type * as Grpc from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
import { Status } from '@grpc/grpc-js/build/src/constants';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import { builtBinary, RuntimeDriver, type RuntimeInfo } from '../runtime';
import type { ImageStore, ContainerUsing } from '../storage';
import type { ForeignContainers } from '../engine';
import { CriLayout, type CriContext } from './context';
import { CriStore } from './store';
import { CriEvents, nowNs } from './events';
import { Cni, loadNetwork } from './cni';
import { PodManager } from './pods';
import { ContainerManager } from './containers';
import { ExecRunner } from './exec';
import { CriImages } from './images';
import { CriStats } from './stats';
import { StreamServer } from './streaming/server';
import { toStatus, unimplemented, invalidArgument, failedPrecondition } from './errors';
import { engineViews } from './views';

export interface CriOptions {
  /** unix socket path */
  socket: string;
  dataRoot: string;
  execRoot: string;
  images: ImageStore;
  runtime: RuntimeInfo;
  /** CNI configuration directory (default /etc/cni/net.d) and plugin directories (default /usr/lib/cni, /opt/cni/bin) */
  cniConfDir?: string;
  cniBinDirs?: string[];
  /** registry domain → mirror URL, for pulls */
  registryMirrors?: Record<string, string>;
  insecureRegistries?: string[];
  /** the streaming server's address (default 127.0.0.1, a free port) */
  streamAddress?: string;
  streamPort?: number;
  /** the Engine API containers using an image (a CRI image removal keeps their layers) */
  engineImageUsers: ContainerUsing;
  version: string;
  /** the cgroup for pods without a cgroup_parent of their own (default /berth-cri) */
  cgroupRoot?: string;
}

const PROTO = 'src/cri/runtime-v1.proto';

type Handler = (call: { request: any }) => Promise<unknown> | unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

export class CriServer {
  private server?: Grpc.Server;
  /** the socket's listener; connections go to the gRPC server once it is loaded */
  private listener?: net.Server;
  private inject?: Promise<(conn: Duplex) => void>;
  private ctx!: CriContext;
  private pods!: PodManager;
  private containers!: ContainerManager;
  private execs!: ExecRunner;
  private imagesSvc!: CriImages;
  private stats!: CriStats;
  private streams!: StreamServer;

  constructor(private readonly opts: CriOptions) {}

  /** The pods and containers as the Engine API's `ps` shows them (read-only there). */
  foreign(): ForeignContainers {
    return { owner: 'the CRI (use crictl)', list: () => (this.ctx ? engineViews(this.ctx) : []) };
  }

  async start(): Promise<void> {
    const dataRoot = path.join(this.opts.dataRoot, 'cri');
    const execRoot = path.join(this.opts.execRoot, 'cri');
    await fs.mkdir(dataRoot, { recursive: true, mode: 0o700 });
    await fs.mkdir(execRoot, { recursive: true, mode: 0o700 });
    const layout = new CriLayout({ data: dataRoot, exec: execRoot });
    const store = new CriStore(dataRoot);
    await store.load();
    const driver = new RuntimeDriver(this.opts.runtime, path.join(this.opts.execRoot, `runtime-${this.opts.runtime.name}`));
    const cni = new Cni({ confDir: this.opts.cniConfDir ?? '/etc/cni/net.d', binDirs: this.opts.cniBinDirs ?? ['/usr/lib/cni', '/opt/cni/bin'] });
    this.ctx = { layout, store, images: this.opts.images, driver, cni, events: new CriEvents(), shims: new Map(), cgroupRoot: this.opts.cgroupRoot ?? '/berth-cri' };
    await this.preparePauseRoot();
    this.containers = new ContainerManager(this.ctx);
    this.pods = new PodManager(this.ctx, this.containers);
    this.execs = new ExecRunner(this.ctx);
    this.stats = new CriStats(this.ctx);
    const criUsing: ContainerUsing = (imageId) => {
      const users = [...store.containers.values()].filter((c) => c.imageId === imageId);
      const running = users.find((c) => c.state === 'running');
      const u = running ?? users[0];
      return u ? { id: u.id, running: !!running } : this.opts.engineImageUsers(imageId);
    };
    this.imagesSvc = new CriImages(this.opts.images, { mirrors: this.opts.registryMirrors, insecureRegistries: this.opts.insecureRegistries, containerUsing: criUsing });
    await this.recover();

    const nsconnect = builtBinary('src/cri/helpers/berth-nsconnect') ?? '';
    this.streams = new StreamServer({
      exec: async (r) => {
        const c = store.container(r.containerId);
        const h = await this.execs.start(c, r.cmd, { tty: r.tty, stdin: r.stdin });
        return { conn: h.conn, exited: h.exited, resize: (rows, cols) => h.shim.resize(rows, cols) };
      },
      attach: async (r) => {
        const c = store.container(r.containerId);
        const shim = this.ctx.shims.get(c.id);
        if (c.state !== 'running' || !shim) throw failedPrecondition(`container "${c.id}" is not running`);
        return { conn: await shim.attach(), resize: (rows, cols) => shim.resize(rows, cols) };
      },
      podNetns: (id) => store.pod(id).netns ?? '',
      nsconnect,
    }, this.opts.streamAddress, this.opts.streamPort);
    await this.streams.start();

    // the socket is served at once (the kubelet may connect any time); what answers on it loads with the first client
    await fs.mkdir(path.dirname(this.opts.socket), { recursive: true, mode: 0o711 });
    await fs.rm(this.opts.socket, { force: true });
    const listener = net.createServer({ pauseOnConnect: true }, (conn) => this.accept(conn));
    await new Promise<void>((resolve, reject) => { listener.once('error', reject); listener.listen(this.opts.socket, () => { listener.off('error', reject); resolve(); }); });
    listener.on('error', (err) => log.error('CRI socket failed', { error: errorMessage(err) }));
    await fs.chmod(this.opts.socket, 0o660);
    this.listener = listener;
    log.info('CRI listening', { socket: this.opts.socket, cniConfDir: cni.confDir });
  }

  /** Hands a client connection to the gRPC server, loading it first if this is the first client. */
  private accept(conn: net.Socket): void {
    conn.on('error', () => undefined); // a client gone before the server took it
    (this.inject ??= this.loadGrpc()).then((inject) => inject(conn), (err) => {
      log.error('CRI gRPC server failed to load', { error: errorMessage(err) });
      conn.destroy();
    });
  }

  /** The gRPC server with both services, taking connections from our listener (no socket of its own). */
  private async loadGrpc(): Promise<(conn: Duplex) => void> {
    const grpc = require('@grpc/grpc-js') as typeof Grpc;
    const protoLoader = require('@grpc/proto-loader') as typeof ProtoLoader;
    const protoFile = builtBinary(PROTO);
    if (!protoFile) throw new Error(`${PROTO} not found`);
    const def = protoLoader.loadSync(protoFile, { keepCase: true, longs: String, enums: Number, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: Record<string, { service: Grpc.ServiceDefinition }> } };
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 << 20, 'grpc.max_send_message_length': 16 << 20 });
    server.addService(pkg.runtime.v1.RuntimeService.service, this.wrapAll(pkg.runtime.v1.RuntimeService.service, this.runtimeHandlers()));
    server.addService(pkg.runtime.v1.ImageService.service, this.wrapAll(pkg.runtime.v1.ImageService.service, this.imageHandlers()));
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.server = server;
    log.debug('CRI gRPC server loaded');
    // The socket was accepted paused (pauseOnConnect), so no byte was read before HTTP/2 took its handle; reading
    // starts once it has (without the resume the client waits forever).
    return (conn) => { injector.injectConnection(conn); conn.resume(); };
  }

  async stop(): Promise<void> {
    await this.streams?.stop().catch(() => undefined);
    if (this.listener) {
      const l = this.listener;
      await new Promise<void>((resolve) => l.close(() => resolve()));
    }
    if (this.server) {
      const s = this.server;
      await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
      s.forceShutdown();
    }
    for (const shim of this.ctx?.shims.values() ?? []) shim.close(); // pods and containers keep running
    await fs.rm(this.opts.socket, { force: true }).catch(() => undefined);
  }

  /** The pause process's root: only the static berth-pause binary (read-only; crun makes no changes in it). */
  private async preparePauseRoot(): Promise<void> {
    const root = this.ctx.layout.pauseRoot();
    const bin = builtBinary('src/cri/helpers/berth-pause');
    if (!bin) throw new Error('berth-pause not found: run `make -C src/cri/helpers` (scripts/setup does)');
    await fs.mkdir(root, { recursive: true, mode: 0o755 });
    for (const d of ['proc', 'dev', 'sys', 'etc']) await fs.mkdir(path.join(root, d), { recursive: true, mode: 0o755 });
    const target = path.join(root, 'pause');
    const [a, b] = await Promise.all([fs.readFile(bin), fs.readFile(target).catch(() => undefined)]);
    if (!b || !a.equals(b)) {
      await fs.copyFile(bin, `${target}.tmp`);
      await fs.chmod(`${target}.tmp`, 0o755);
      await fs.rename(`${target}.tmp`, target);
    }
  }

  /** After a daemon restart: pods and containers found where they were (their shims kept them running). */
  private async recover(): Promise<void> {
    const { store, layout } = this.ctx;
    const { Shim } = await import('../runtime');
    for (const pod of store.pods.values()) {
      if (pod.state !== 'ready') continue;
      const shim = await Shim.connect(layout.shimState(pod.id));
      if (shim) { this.ctx.shims.set(pod.id, shim); this.pods.watchPause(pod, shim); } else pod.pausePid = 0;
    }
    for (const c of store.containers.values()) await this.containers.recover(c).catch((e) => log.warn('recovering a CRI container failed', { id: c.id, error: errorMessage(e) }));
  }

  // ------------------------------------------------------------------------------------------- handlers

  private wrapAll(service: Grpc.ServiceDefinition, handlers: Record<string, Handler>): Grpc.UntypedServiceImplementation {
    const impl: Grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(service)) {
      if (method.responseStream) {
        impl[name] = (call: Grpc.ServerWritableStream<unknown, unknown>) => this.events(call);
        continue;
      }
      const h = handlers[name];
      impl[name] = (call: Grpc.ServerUnaryCall<unknown, unknown>, cb: Grpc.sendUnaryData<unknown>) => {
        if (!h) { cb({ code: Status.UNIMPLEMENTED, details: `${name} is not implemented by berth` }); return; }
        Promise.resolve().then(() => h(call)).then((res) => cb(null, res ?? {}), (err) => {
          const s = toStatus(err);
          log.debug('CRI call failed', { method: name, code: s.code, error: s.details });
          cb({ code: s.code, details: s.details });
        });
      };
    }
    return impl;
  }

  private events(call: Grpc.ServerWritableStream<unknown, unknown>): void {
    const unsubscribe = this.ctx.events.subscribe((ev) => { if (!call.cancelled) call.write(ev); });
    call.on('cancelled', unsubscribe);
    call.on('close', unsubscribe);
    call.on('error', unsubscribe);
  }

  private runtimeHandlers(): Record<string, Handler> {
    const { store } = this.ctx;
    return {
      Version: () => ({ version: '0.1.0', runtime_name: 'berth', runtime_version: this.opts.version, runtime_api_version: 'v1' }),
      Status: async ({ request }) => {
        const net = await loadNetwork(this.ctx.cni.confDir);
        const conditions = [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          net ? { type: 'NetworkReady', status: true, reason: '', message: '' }
            : { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: `Network plugin returns error: cni config uninitialized (no network config in ${this.ctx.cni.confDir})` },
        ];
        const info: Record<string, string> = request.verbose
          ? { config: JSON.stringify({ runtime: this.opts.runtime, cniConfDir: this.ctx.cni.confDir, cniBinDirs: this.opts.cniBinDirs, network: net?.file ?? null, streamServer: this.streams.url({ kind: 'portforward', podId: '' }).replace(/\/portforward\/.*$/, '') }) }
          : {};
        return { status: { conditions }, info };
      },
      RuntimeConfig: () => ({ linux: { cgroup_driver: 1 /* CGROUPFS */ } }),
      UpdateRuntimeConfig: () => ({}),

      RunPodSandbox: async ({ request }) => ({ pod_sandbox_id: await this.pods.run(request.config, request.runtime_handler) }),
      StopPodSandbox: async ({ request }) => { await this.pods.stop(request.pod_sandbox_id); },
      RemovePodSandbox: async ({ request }) => { await this.pods.remove(request.pod_sandbox_id); },
      PodSandboxStatus: ({ request }) => {
        const res = this.pods.status(request.pod_sandbox_id, request.verbose);
        const pod = store.pod(request.pod_sandbox_id);
        res.containers_statuses = store.containersOf(pod.id).map((c) => this.containers.statusOf(c));
        return res;
      },
      ListPodSandbox: ({ request }) => ({ items: this.pods.list(request.filter) }),

      CreateContainer: async ({ request }) => ({ container_id: await this.containers.create(request.pod_sandbox_id, request.config, request.sandbox_config) }),
      StartContainer: async ({ request }) => { await this.containers.start(request.container_id); },
      StopContainer: async ({ request }) => { await this.containers.stop(request.container_id, Number(request.timeout) || 0); },
      RemoveContainer: async ({ request }) => { await this.containers.remove(request.container_id); },
      ListContainers: ({ request }) => ({ containers: this.containers.list(request.filter) }),
      ContainerStatus: ({ request }) => this.containers.status(request.container_id, request.verbose),
      UpdateContainerResources: async ({ request }) => { await this.containers.updateResources(request.container_id, request.linux); },
      ReopenContainerLog: async ({ request }) => { await this.containers.reopenLog(request.container_id); },

      ExecSync: async ({ request }) => this.execs.sync(store.container(request.container_id), request.cmd, Number(request.timeout) || 0),
      Exec: ({ request }) => {
        const c = store.container(request.container_id);
        if (!request.cmd?.length) throw invalidArgument('cmd must not be empty');
        if (!request.stdin && !request.stdout && !request.stderr) throw invalidArgument('one of stdin, stdout, or stderr must be set');
        if (request.tty && request.stderr && !request.stdout) throw invalidArgument('tty requires stdout');
        if (c.state !== 'running') throw failedPrecondition(`container "${c.id}" is in ${c.state} state`);
        return { url: this.streams.url({ kind: 'exec', containerId: c.id, cmd: request.cmd, tty: request.tty, stdin: request.stdin, stdout: request.stdout, stderr: request.stderr && !request.tty }) };
      },
      Attach: ({ request }) => {
        const c = store.container(request.container_id);
        if (!request.stdin && !request.stdout && !request.stderr) throw invalidArgument('one of stdin, stdout, or stderr must be set');
        if (c.state !== 'running') throw failedPrecondition(`container "${c.id}" is in ${c.state} state`);
        return { url: this.streams.url({ kind: 'attach', containerId: c.id, tty: c.config.tty, stdin: request.stdin && c.config.stdin, stdout: request.stdout, stderr: request.stderr && !c.config.tty }) };
      },
      PortForward: ({ request }) => {
        const pod = store.pod(request.pod_sandbox_id);
        if (pod.state !== 'ready') throw failedPrecondition(`sandbox "${pod.id}" is not running`);
        return { url: this.streams.url({ kind: 'portforward', podId: pod.id }) };
      },

      ContainerStats: async ({ request }) => ({ stats: await this.stats.container(store.container(request.container_id)) }),
      ListContainerStats: async ({ request }) => ({ stats: await this.stats.listContainers(request.filter) }),
      PodSandboxStats: async ({ request }) => ({ stats: await this.stats.pod(store.pod(request.pod_sandbox_id)) }),
      ListPodSandboxStats: async ({ request }) => ({ stats: await this.stats.listPods(request.filter) }),
      CheckpointContainer: () => { throw unimplemented('CheckpointContainer is not implemented by berth'); },
      ListMetricDescriptors: () => ({ descriptors: [] }),
      ListPodSandboxMetrics: () => ({ pod_metrics: [] }),
    };
  }

  private imageHandlers(): Record<string, Handler> {
    return {
      ListImages: ({ request }) => ({ images: this.imagesSvc.list(request.filter) }),
      ImageStatus: ({ request }) => this.imagesSvc.status(request.image, request.verbose),
      PullImage: async ({ request }) => ({ image_ref: await this.imagesSvc.pull(request.image, request.auth) }),
      RemoveImage: async ({ request }) => { await this.imagesSvc.remove(request.image); },
      ImageFsInfo: () => this.imagesSvc.fsInfo(nowNs()),
    };
  }
}

