// berth as a Kubernetes CRI runtime, driven by crictl v1.29 (and raw gRPC for the error cases): images on berth's
// own store, a pod's whole life (runp, create, start, exec, logs, stats, stop, rm, rmp), CNI networking with
// hostPort and DNS config, the streaming server (exec with stdin, port-forward), `berth ps` showing the CRI's
// pods and containers but leaving them alone, survival across a daemon crash, and bad input: each a gRPC
// status, nothing leaked (netns, veth, IP reservation, mount, cgroup).
import { test, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as http from 'http';
import { spawn } from 'child_process';
import { CriFixture, criTools } from './fixture';
import { waitFor } from '../helpers/daemon';

const BUSYBOX = 'registry.k8s.io/e2e-test-images/busybox:1.29-2';
const NGINX = 'registry.k8s.io/e2e-test-images/nginx:1.14-2';
const status = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, FAILED_PRECONDITION: 9, UNKNOWN: 2 };

let cri: CriFixture;
let work: string;
let seq = 0;

/** Pods a test made: removed after it whatever happened, so one failure does not spill into the next test. */
async function cleanPods(): Promise<void> {
  const pods = await cri.crictl(['pods', '-q']);
  for (const id of pods.stdout.split('\n').filter(Boolean)) await cri.crictl(['rmp', '-f', id]);
}

function podConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return { metadata: { name: `pod-${seq}`, namespace: 'berth-test', uid: `uid-${process.pid}-${seq}`, attempt: 1 }, log_directory: path.join(work, `logs-${seq}`), linux: {}, ...extra };
}

function file(name: string, value: unknown): string {
  const p = path.join(work, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await cri.crictl(args, { input });
  assert.equal(r.code, 0, `crictl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'berth-crictl-'));
  // a CNI plugin that refuses every ADD (and accepts DEL): the failure case below
  const bin = path.join(work, 'cni-bin');
  require('fs').mkdirSync(bin);
  writeFileSync(path.join(bin, 'bkfail'), '#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then echo \'{"cniVersion":"1.0.0","code":999,"msg":"bkfail refused the pod"}\'; exit 1; fi\nexit 0\n');
  chmodSync(path.join(bin, 'bkfail'), 0o755);
  cri = await new CriFixture({ images: true, extraCniBin: bin, name: 'crictl' }).start();
  for (const image of [BUSYBOX, NGINX]) await ok(['pull', image]);
}, { timeout: 20 * 60_000 });

afterEach(async () => { if (cri) await cleanPods(); });

after(async () => {
  await cri?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('pull, images, rmi: one store with berth images', { timeout: 120_000 }, async () => {
  await ok(['rmi', BUSYBOX]);
  assert.doesNotMatch(await ok(['images']), /e2e-test-images\/busybox/);
  const id = await ok(['pull', BUSYBOX]);
  assert.match(id, /Image is up to date for sha256:[0-9a-f]{64}/);
  const imageId = id.match(/sha256:[0-9a-f]{64}/)![0];
  const list = await ok(['images', '--no-trunc']);
  assert.match(list, /registry\.k8s\.io\/e2e-test-images\/busybox\s+1\.29-2\s+sha256:[0-9a-f]{64}/);
  const berth = await cri.daemon.berth(['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  assert.ok(berth.stdout.includes(`${BUSYBOX} ${imageId}`), `berth images should show the CRI's image:\n${berth.stdout}`);
  const inspect = JSON.parse(await ok(['inspecti', BUSYBOX]));
  assert.equal(inspect.status.id, imageId);
  // a tag pulled by berth is seen by crictl, and crictl's rmi removes it from berth's store
  await cri.daemon.berth(['tag', BUSYBOX, 'berth-test/copy:1']);
  assert.match(await ok(['images']), /docker\.io\/berth-test\/copy\s+1/);
  // as containerd's: RemoveImage takes every name of the image, whichever name it was given
  await ok(['rmi', 'docker.io/berth-test/copy:1']);
  const after = (await cri.daemon.berth(['images'])).stdout;
  assert.doesNotMatch(after, /berth-test\/copy/);
  assert.doesNotMatch(after, /e2e-test-images\/busybox/);
  await ok(['pull', BUSYBOX]);
});

test('runp, create, start, exec, logs, stats, stop, rm, rmp; berth ps shows them, labelled, and leaves them alone', { timeout: 180_000 }, async () => {
  const podCfg = podConfig({ hostname: 'crictl-pod' });
  const podFile = file('pod.json', podCfg);
  const ctrFile = file('ctr.json', { metadata: { name: 'box' }, image: { image: BUSYBOX }, command: ['sh', '-c', 'echo started; echo to-stderr >&2; exec sleep 3600'], log_path: 'box.log', linux: {} });
  // GetContainerEvents, through `crictl events` running meanwhile
  const { crictl } = criTools();
  const events = spawn(crictl, ['--runtime-endpoint', `unix://${cri.socket}`, 'events', '-o', 'go-template', '--template', '{{.containerId}} {{.containerEventType}}{{"\\n"}}'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let eventText = '';
  events.stdout.on('data', (d) => { eventText += d; });
  await new Promise((r) => setTimeout(r, 500));
  const pod = await ok(['runp', podFile]);
  assert.match(pod, /^[0-9a-f]{64}$/);
  const ctr = await ok(['create', pod, ctrFile, podFile]);
  await ok(['start', ctr]);
  assert.match(await ok(['ps', '--id', ctr]), /Running/);
  const inspectp = JSON.parse(await ok(['inspectp', pod]));
  assert.equal(inspectp.status.state, 'SANDBOX_READY');
  const ip = inspectp.status.network.ip as string;
  assert.ok(ip.startsWith(cri.subnet.split('.').slice(0, 3).join('.') + '.'), `pod IP ${ip} should be in ${cri.subnet}`);
  assert.equal(await ok(['exec', ctr, 'hostname']), 'crictl-pod');
  assert.match(await ok(['exec', ctr, 'ip', '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
  // the pod's namespace is made by the daemon's main thread entering it for a moment: lo is up there, and no
  // thread of the daemon is left outside the host's namespace
  assert.match(await ok(['exec', ctr, 'ip', 'link', 'show', 'lo']), /<LOOPBACK,UP/);
  const hostNet = readlinkSync('/proc/self/ns/net');
  const daemonPid = cri.daemon.proc!.pid!; // bin/berth execs the Node launcher for `daemon`: the same process
  assert.match(readFileSync(`/proc/${daemonPid}/cmdline`, 'utf8'), /\0daemon\0/);
  for (const t of readdirSync(`/proc/${daemonPid}/task`)) assert.equal(readlinkSync(`/proc/${daemonPid}/task/${t}/ns/net`), hostNet, `daemon thread ${t}`);
  // exec exit codes come back through the streaming server
  const failing = await cri.crictl(['exec', ctr, 'sh', '-c', 'exit 3']);
  assert.notEqual(failing.code, 0);
  assert.match(failing.stderr, /command terminated with exit code 3/);
  // stdin through the streaming server
  assert.equal(await ok(['exec', '-i', ctr, 'cat'], 'through stdin\n'), 'through stdin');
  await waitFor(async () => (await cri.crictl(['logs', ctr])).stdout.includes('started'), 10_000, 'logs');
  const logs = await cri.crictl(['logs', ctr]);
  assert.match(logs.stdout, /started/);
  assert.match(logs.stderr, /to-stderr/);
  const raw = readFileSync(path.join(String(podCfg.log_directory), 'box.log'), 'utf8');
  assert.match(raw, /^\S+Z stdout F started$/m, 'CRI log format');
  assert.match(raw, /^\S+Z stderr F to-stderr$/m);
  const stats = await ok(['stats', '-o', 'json', '--id', ctr]);
  const st = JSON.parse(stats).stats[0];
  assert.equal(st.attributes.id, ctr);
  assert.ok(Number(st.memory.workingSetBytes.value) > 0, 'memory working set');
  assert.ok(Number(st.cpu.usageCoreNanoSeconds.value) > 0, 'cpu usage');
  const podStats = JSON.parse(await ok(['statsp', '-o', 'json', '--id', pod]));
  assert.equal(podStats.stats[0].attributes.id, pod);

  // berth ps: the sandbox and the container, named and labelled like dockershim's; the engine refuses to touch them
  const ps = await cri.daemon.berth(['ps', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.Label "io.kubernetes.pod.name"}} {{.Label "io.berth.cri.type"}}']);
  const m = podCfg.metadata as { name: string; namespace: string; uid: string };
  assert.ok(ps.stdout.includes(`${pod} k8s_POD_${m.name}_${m.namespace}_${m.uid}_1 ${m.name} sandbox`), ps.stdout);
  assert.ok(ps.stdout.includes(`${ctr} k8s_box_${m.name}_${m.namespace}_${m.uid}_0 ${m.name} container`), ps.stdout);
  const rm = await cri.daemon.berth(['rm', '-f', ctr]);
  assert.notEqual(rm.code, 0);
  assert.match(rm.stderr, /managed by the CRI/);
  const inspect = await cri.daemon.berth(['inspect', '--format', '{{.State.Status}} {{index .Config.Labels "io.kubernetes.container.name"}}', ctr]);
  assert.equal(inspect.stdout.trim(), 'running box', inspect.stderr);

  await ok(['stop', '--timeout', '5', ctr]);
  assert.match(await ok(['ps', '-a', '--id', ctr]), /Exited/);
  const cs = JSON.parse(await ok(['inspect', ctr]));
  assert.equal(cs.status.state, 'CONTAINER_EXITED');
  await ok(['rm', ctr]);
  assert.equal(await ok(['ps', '-a', '-q', '--id', ctr]), '');
  await waitFor(async () => eventText.includes(`${ctr} CONTAINER_DELETED_EVENT`), 10_000, 'the deleted event');
  events.kill('SIGKILL');
  assert.deepEqual(eventText.split('\n').filter((l) => l.startsWith(ctr)).map((l) => l.split(' ')[1]),
    ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
  await ok(['stopp', pod]);
  assert.equal(JSON.parse(await ok(['inspectp', pod])).status.state, 'SANDBOX_NOTREADY');
  await ok(['rmp', pod]);
  assert.equal(await ok(['pods', '-q', '--id', pod]), '');
  assert.deepEqual(cri.leftovers(), { netns: [], ipReservations: [], mounts: [], veths: [], cgroups: [] });
});

test('pod networking: hostPort through portmap, the pod IP, DNS config, port-forward', { timeout: 180_000 }, async () => {
  const hostPort = 20000 + (process.pid % 5000);
  const podFile = file('web-pod.json', podConfig({
    port_mappings: [{ container_port: 80, host_port: hostPort }],
    dns_config: { servers: ['10.64.255.53'], searches: ['berth.test'], options: ['ndots:3'] },
  }));
  const ctrFile = file('web.json', { metadata: { name: 'web' }, image: { image: NGINX }, linux: {} });
  const pod = await ok(['runp', podFile]);
  const ctr = await ok(['create', pod, ctrFile, podFile]);
  await ok(['start', ctr]);
  const ip = JSON.parse(await ok(['inspectp', pod])).status.network.ip;
  const direct = await waitFor(async () => httpGet(`http://${ip}:80/`).catch(() => undefined), 20_000, 'the pod IP to answer');
  assert.equal(direct.status, 200);
  const mapped = await waitFor(async () => httpGet(`http://127.0.0.1:${hostPort}/`).catch(() => undefined), 20_000, 'the host port to answer');
  assert.equal(mapped.status, 200);
  assert.match(mapped.body, /Welcome to nginx/);
  const resolv = await ok(['exec', ctr, 'cat', '/etc/resolv.conf']);
  assert.match(resolv, /nameserver 10\.64\.255\.53/);
  assert.match(resolv, /search berth\.test/);
  assert.match(resolv, /options ndots:3/);

  // crictl port-forward: a local port to the pod's port 80, through the SPDY streaming server
  const { crictl } = criTools();
  const pf = spawn(crictl, ['--runtime-endpoint', `unix://${cri.socket}`, 'port-forward', pod, '0:80'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    pf.stdout.on('data', (d) => { out += d; });
    pf.stderr.on('data', (d) => { out += d; });
    const local = await waitFor(async () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 20_000, 'port-forward to listen');
    const viaForward = await httpGet(`http://127.0.0.1:${local}/`);
    assert.equal(viaForward.status, 200);
    assert.match(viaForward.body, /Welcome to nginx/);
  } finally {
    pf.kill('SIGKILL');
  }
  await ok(['rmp', '-f', pod]);
  // the mapping went with the pod
  await assert.rejects(httpGet(`http://127.0.0.1:${hostPort}/`));
  assert.deepEqual(cri.leftovers(), { netns: [], ipReservations: [], mounts: [], veths: [], cgroups: [] });
});

test('pods and containers survive a daemon crash and stay under CRI control', { timeout: 180_000 }, async () => {
  const podFile = file('crash-pod.json', podConfig());
  const ctrFile = file('crash.json', { metadata: { name: 'survivor' }, image: { image: BUSYBOX }, command: ['sleep', '3600'], linux: {} });
  const pod = await ok(['runp', podFile]);
  const ctr = await ok(['create', pod, ctrFile, podFile]);
  await ok(['start', ctr]);
  await cri.daemon.kill();
  await cri.daemon.start();
  await cri.waitForSocket();
  assert.match(await ok(['ps', '--id', ctr]), /Running/);
  assert.equal(JSON.parse(await ok(['inspectp', pod])).status.state, 'SANDBOX_READY');
  assert.equal(await ok(['exec', ctr, 'echo', 'still here']), 'still here');
  await ok(['rmp', '-f', pod]);
  assert.deepEqual(cri.leftovers(), { netns: [], ipReservations: [], mounts: [], veths: [], cgroups: [] });
});

test('bad input: gRPC statuses with clear messages, nothing leaked', { timeout: 180_000 }, async () => {
  const unknown = 'f'.repeat(64);
  const code = async (svc: 'runtime' | 'image', method: string, req: unknown) => {
    const r = await cri.call(svc, method, req);
    return { code: r.err?.code ?? 0, details: r.err?.details ?? '' };
  };
  for (const [method, req] of [
    ['PodSandboxStatus', { pod_sandbox_id: unknown }], ['StopPodSandbox', { pod_sandbox_id: unknown }],
    ['ContainerStatus', { container_id: unknown }], ['StartContainer', { container_id: unknown }], ['StopContainer', { container_id: unknown }],
    ['ExecSync', { container_id: unknown, cmd: ['true'] }], ['ContainerStats', { container_id: unknown }],
    ['Exec', { container_id: unknown, cmd: ['true'], stdout: true }], ['PortForward', { pod_sandbox_id: unknown }],
  ] as const) {
    const r = await code('runtime', method, req);
    assert.equal(r.code, status.NOT_FOUND, `${method} of an unknown id: ${JSON.stringify(r)}`);
    assert.match(r.details, /not found/);
  }
  // removals are idempotent, as the kubelet expects (containerd answers the same)
  assert.equal((await code('runtime', 'RemoveContainer', { container_id: unknown })).code, status.OK);
  assert.equal((await code('runtime', 'RemovePodSandbox', { pod_sandbox_id: unknown })).code, status.OK);

  // malformed configs
  assert.equal((await code('runtime', 'RunPodSandbox', { config: { metadata: { name: 'x' } } })).code, status.INVALID_ARGUMENT);
  assert.equal((await code('runtime', 'RunPodSandbox', { config: null })).code, status.INVALID_ARGUMENT);
  assert.equal((await code('runtime', 'RunPodSandbox', { config: podConfig(), runtime_handler: 'no-such-handler' })).code, status.INVALID_ARGUMENT);

  const cfg = podConfig();
  const { res } = await cri.call('runtime', 'RunPodSandbox', { config: cfg });
  const pod = res.pod_sandbox_id as string;
  assert.equal((await code('runtime', 'RunPodSandbox', { config: cfg })).code, status.ALREADY_EXISTS, 'the same pod twice');
  const box = { metadata: { name: 'box', attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '60'], linux: {} };
  assert.equal((await code('runtime', 'CreateContainer', { pod_sandbox_id: unknown, config: box, sandbox_config: cfg })).code, status.NOT_FOUND, 'a missing sandbox');
  assert.equal((await code('runtime', 'CreateContainer', { pod_sandbox_id: pod, config: { ...box, image: null }, sandbox_config: cfg })).code, status.INVALID_ARGUMENT, 'no image');
  assert.equal((await code('runtime', 'CreateContainer', { pod_sandbox_id: pod, config: { ...box, metadata: null }, sandbox_config: cfg })).code, status.INVALID_ARGUMENT, 'no metadata');
  assert.equal((await code('runtime', 'CreateContainer', { pod_sandbox_id: pod, config: { ...box, image: { image: 'berth-test/absent:1' } }, sandbox_config: cfg })).code, status.NOT_FOUND, 'an unknown image');
  const groupOnly = { ...box, metadata: { name: 'grp', attempt: 0 }, linux: { security_context: { run_as_group: { value: 1002 } } } };
  assert.equal((await code('runtime', 'CreateContainer', { pod_sandbox_id: pod, config: groupOnly, sandbox_config: cfg })).code, status.INVALID_ARGUMENT, 'RunAsGroup without RunAsUser');
  const first = await cri.call('runtime', 'CreateContainer', { pod_sandbox_id: pod, config: box, sandbox_config: cfg });
  assert.ok(first.res?.container_id, JSON.stringify(first.err));
  const dup = await code('runtime', 'CreateContainer', { pod_sandbox_id: pod, config: box, sandbox_config: cfg });
  assert.equal(dup.code, status.ALREADY_EXISTS, 'a duplicate name in the pod');
  assert.match(dup.details, /reserved/);
  assert.equal((await code('runtime', 'ExecSync', { container_id: first.res.container_id, cmd: ['true'] })).code, status.FAILED_PRECONDITION, 'exec in a container that is not running');
  await cri.call('runtime', 'StopPodSandbox', { pod_sandbox_id: pod });
  const stopped = await code('runtime', 'CreateContainer', { pod_sandbox_id: pod, config: { ...box, metadata: { name: 'late', attempt: 0 } }, sandbox_config: cfg });
  assert.equal(stopped.code, status.FAILED_PRECONDITION, 'a stopped sandbox');
  assert.equal((await code('runtime', 'StartContainer', { container_id: first.res.container_id })).code, status.FAILED_PRECONDITION, 'start in a stopped sandbox');
  await cri.call('runtime', 'RemovePodSandbox', { pod_sandbox_id: pod });

  // images that cannot be pulled
  const missing = await code('image', 'PullImage', { image: { image: 'gcr.io/k8s-staging-cri-tools/berth-no-such-image:1' } });
  assert.equal(missing.code, status.NOT_FOUND, JSON.stringify(missing));
  assert.match(missing.details, /failed to pull and unpack image/);
  assert.equal((await code('image', 'PullImage', { image: { image: 'Not_A/Valid::Ref' } })).code, status.INVALID_ARGUMENT);
  assert.equal((await code('image', 'RemoveImage', { image: { image: 'berth-test/absent:1' } })).code, status.OK, 'RemoveImage is idempotent');

  // a CNI plugin that fails after the bridge plugin succeeded: the bridge's work is undone, nothing is left
  cri.writeConf(cri.conflist([{ type: 'bkfail' }]));
  try {
    const failed = await code('runtime', 'RunPodSandbox', { config: podConfig() });
    assert.equal(failed.code, status.UNKNOWN, JSON.stringify(failed));
    assert.match(failed.details, /failed to setup network for sandbox .*bkfail refused the pod/);
  } finally {
    cri.writeConf();
  }
  assert.equal(await ok(['pods', '-q']), '');
  assert.deepEqual(cri.leftovers(), { netns: [], ipReservations: [], mounts: [], veths: [], cgroups: [] });
});
