// /_ping, /version, /info, /events.
import * as os from 'os';
import type { ApiServices } from '../services';
import { Router, parseFilters, API_VERSION, MIN_API_VERSION } from '../router';
import { SERVER_VERSION } from '../server';
import type { EngineEvent } from '../../engine/events';
import { matchKVList } from '../../storage/image-filters';

function eventMatches(ev: EngineEvent, f: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(f)) {
    if (!values.length) continue;
    const attrs = ev.Actor.Attributes;
    // labels: all of them must hold (filters.MatchKVList), as dockerd's event filter does
    if (key === 'label') { if (!matchKVList(values, attrs)) return false; continue; }
    const ok = values.some((v) => {
      switch (key) {
        case 'type': return ev.Type === v;
        case 'event': return ev.Action === v || ev.Action.startsWith(v + ':');
        case 'container': return ev.Type === 'container' && (ev.Actor.ID.startsWith(v) || attrs.name === v);
        case 'image': return attrs.image === v || ev.Actor.ID === v || (ev.Type === 'image' && ev.Actor.ID.startsWith(v));
        case 'network': case 'volume': return ev.Type === key && (ev.Actor.ID === v || attrs.name === v);
        case 'scope': return v === 'local';
        default: return false;
      }
    });
    if (!ok) return false;
  }
  return true;
}

const seconds = (v: string | null): number | undefined => {
  if (!v) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : Date.parse(v) / 1000;
};

export function systemRoutes(r: Router, d: ApiServices): void {
  const ping = (ctx: { res?: import('http').ServerResponse }) => {
    ctx.res?.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    ctx.res?.setHeader('Pragma', 'no-cache');
    ctx.res?.setHeader('Builder-Version', '1');
    ctx.res?.setHeader('Swarm', 'inactive');
    return 'OK';
  };
  r.add('GET', '/_ping', ping);
  r.add('HEAD', '/_ping', ping);

  r.add('GET', '/version', () => ({
    Platform: { Name: 'berth Engine' },
    Components: [{ Name: 'Engine', Version: SERVER_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: os.release(), Runtime: d.runtime.name } }],
    Version: SERVER_VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: 'berth', GoVersion: `node${process.versions.node}`,
    Os: 'linux', Arch: goArch(), KernelVersion: os.release(), BuildTime: '',
  }));

  r.add('GET', '/info', () => {
    const all = d.containers.store.all();
    const count = (s: string) => all.filter((c) => c.State.Status === s).length;
    return {
      ID: d.id, Containers: all.length, ContainersRunning: count('running'), ContainersPaused: count('paused'),
      ContainersStopped: all.length - count('running') - count('paused'), Images: d.images.list().length,
      Driver: d.storageDriver, DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
      // rootless without a delegated cgroup: no limit of any kind (rootless Docker reports the same)
      ...limitFlags(!d.rootless?.limitsUnavailable), IPv4Forwarding: true, Debug: false, NFd: 0, NGoroutines: 0,
      SystemTime: new Date().toISOString(), LoggingDriver: 'json-file', CgroupDriver: d.rootless?.limitsUnavailable ? 'none' : 'cgroupfs', CgroupVersion: d.cgroupVersion,
      NEventsListener: d.events.listenerCount('event'), KernelVersion: os.release(), OperatingSystem: d.osName, OSVersion: d.osVersion,
      OSType: 'linux', Architecture: os.machine(), IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null, InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: null },
      NCPU: os.cpus().length, MemTotal: os.totalmem(), GenericResources: null, DockerRootDir: d.options.dataRoot,
      HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: os.hostname(), Labels: [], ExperimentalBuild: false, ServerVersion: SERVER_VERSION,
      Runtimes: Object.fromEntries(d.runtimes.map((rt) => [rt.name, { path: rt.path }])), DefaultRuntime: d.runtime.name,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true, Isolation: '', InitBinary: 'tini', ContainerdCommit: { ID: '' }, RuncCommit: { ID: d.runtime.name }, InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin', ...(d.rootless?.securityOptions ?? [])], Warnings: d.warnings,
    };
  });

  r.add('GET', '/events', async (ctx) => {
    const filters = parseFilters(ctx.query);
    const since = seconds(ctx.query.get('since'));
    const until = seconds(ctx.query.get('until'));
    const res = ctx.res!;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': ctx.apiVersion });
    res.flushHeaders();
    const send = (ev: EngineEvent) => { if (eventMatches(ev, filters)) res.write(JSON.stringify(ev) + '\n'); };
    if (since !== undefined) for (const ev of d.events.history) if (ev.timeNano / 1e9 >= since && (until === undefined || ev.timeNano / 1e9 <= until)) send(ev);
    if (until !== undefined && until * 1000 <= Date.now()) { res.end(); return; }
    await new Promise<void>((resolve) => {
      const onEvent = (ev: EngineEvent) => send(ev);
      d.events.on('event', onEvent);
      const finish = () => { d.events.off('event', onEvent); clearTimeout(timer); resolve(); };
      const timer = until !== undefined ? setTimeout(finish, until * 1000 - Date.now()) : undefined;
      res.on('close', finish);
    });
    res.end();
  });
}

function limitFlags(on: boolean) {
  return { MemoryLimit: on, SwapLimit: on, KernelMemoryTCP: false, CpuCfsPeriod: on, CpuCfsQuota: on, CPUShares: on, CPUSet: on, PidsLimit: on, OomKillDisable: on };
}

function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}
