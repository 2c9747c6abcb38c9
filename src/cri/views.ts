// The CRI's pods and containers in the Engine API's container shape, for `berth ps` and `berth inspect`. Names
// follow dockershim's convention (k8s_POD_<pod>_<namespace>_<uid>_<attempt> for a sandbox,
// k8s_<container>_<pod>_<namespace>_<uid>_<attempt> for a container) and the io.kubernetes.* labels say
// what they belong to; io.berth.cri marks them as the CRI's.
import type { EngineContainerRecord } from '../engine';
import type { CriContext } from './context';
import type { ContainerRecord, PodRecord } from './store';

const ZERO_TIME = '0001-01-01T00:00:00Z';
const iso = (ns: string) => (ns && ns !== '0' ? new Date(Number(BigInt(ns) / 1_000_000n)).toISOString() : ZERO_TIME);

function podLabels(p: PodRecord): Record<string, string> {
  const m = p.config.metadata!;
  return {
    ...(p.config.labels ?? {}),
    'io.kubernetes.pod.name': m.name, 'io.kubernetes.pod.namespace': m.namespace, 'io.kubernetes.pod.uid': m.uid,
    'io.berth.cri': 'true', 'io.berth.cri.sandbox-id': p.id,
  };
}

function base(id: string, name: string, created: string, labels: Record<string, string>, image: string, imageRef: string, args: string[]): EngineContainerRecord {
  return {
    Id: id, Name: name, Created: iso(created), Path: args[0] ?? '', Args: args.slice(1), Image: image, ImageRef: imageRef,
    Config: {
      Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false,
      StdinOnce: false, Env: [], Cmd: args, Image: imageRef, WorkingDir: '', Entrypoint: null, Labels: labels,
    },
    HostConfig: {
      NetworkMode: 'none', PortBindings: {}, PublishAllPorts: false, AutoRemove: false, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      Runtime: '', Privileged: false, CapAdd: null, CapDrop: null, ReadonlyRootfs: false, ShmSize: 0,
    },
    State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME },
    RestartCount: 0, Runtime: '',
  } as EngineContainerRecord;
}

function sandboxView(p: PodRecord, runtime: string): EngineContainerRecord {
  const m = p.config.metadata!;
  const v = base(p.id, `/k8s_POD_${m.name}_${m.namespace}_${m.uid}_${m.attempt}`, p.createdAt, { ...podLabels(p), 'io.kubernetes.container.name': 'POD', 'io.berth.cri.type': 'sandbox' },
    'berth-pause', 'berth-pause', ['/pause']);
  v.Runtime = runtime;
  v.HostConfig.NetworkMode = p.hostNetwork ? 'host' : 'none';
  v.HostConfig.Privileged = !!p.config.linux?.security_context?.privileged;
  v.State = { ...v.State, Status: p.state === 'ready' && p.pausePid > 0 ? 'running' : 'exited', Pid: p.pausePid, StartedAt: iso(p.createdAt) };
  return v;
}

function containerView(c: ContainerRecord, pod: PodRecord | undefined, runtime: string): EngineContainerRecord {
  const m = pod?.config.metadata;
  const name = m ? `/k8s_${c.config.metadata!.name}_${m.name}_${m.namespace}_${m.uid}_${c.config.metadata!.attempt}` : `/k8s_${c.config.metadata!.name}_${c.id.slice(0, 12)}`;
  const args = c.process ? ((c.process as { args?: string[] }).args ?? []) : [...(c.config.command ?? []), ...(c.config.args ?? [])];
  const labels = { ...(c.config.labels ?? {}), ...(pod ? podLabels(pod) : {}), 'io.kubernetes.container.name': c.config.metadata!.name, 'io.berth.cri.type': 'container' };
  const v = base(c.id, name, c.createdAt, labels, c.imageId, c.imageName, args);
  v.Runtime = runtime;
  v.HostConfig.NetworkMode = `container:${c.podId}`;
  v.HostConfig.Privileged = !!c.config.linux?.security_context?.privileged;
  v.Config.Tty = c.config.tty;
  v.State = {
    ...v.State, Status: c.state, Pid: c.pid, ExitCode: c.exitCode, OOMKilled: c.reason === 'OOMKilled',
    StartedAt: iso(c.startedAt), FinishedAt: iso(c.finishedAt),
  };
  return v;
}

export function engineViews(ctx: CriContext): EngineContainerRecord[] {
  const runtime = ctx.driver.info.name;
  return [
    ...[...ctx.store.pods.values()].map((p) => sandboxView(p, runtime)),
    ...[...ctx.store.containers.values()].map((c) => containerView(c, ctx.store.pods.get(c.podId), runtime)),
  ];
}
