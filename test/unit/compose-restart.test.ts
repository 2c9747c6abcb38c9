// depends_on `restart: true`, as Docker Compose does it: which services a `restart` takes along, and in `up`, a
// dependency being recreated first stops its `restart: true` dependents, which are started again after it (against
// a fake Engine API that records the calls).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'fs';
import * as path from 'path';
import * as os from 'os';
import { restartDependents, withRestartDependents } from '../../src/compose/graph';
import { loadProject } from '../../src/compose/loader';
import { containerPlan, serviceHash } from '../../src/compose/convert';
import { createContainers, startContainers } from '../../src/compose/up';
import { act } from '../../src/compose/ops';
import { EventWatcher, ComposeEnv } from '../../src/compose/state';
import type { Client, ContainerSummary } from '../../src/client';
import type { ServiceConfig, Project } from '../../src/compose/types';

const dep = (restart: boolean) => ({ condition: 'service_started' as const, required: true, restart });

test('restart dependents: direct ones by restart: true, transitively for restart, --no-deps aside', () => {
  const services: Record<string, ServiceConfig> = {
    db: {}, cache: {},
    api: { depends_on: { db: dep(true), cache: dep(false) } },
    web: { depends_on: { api: dep(true) } },
    worker: { depends_on: { db: dep(false) } },
  };
  assert.deepEqual(restartDependents(services, 'db'), ['api']);
  assert.deepEqual(restartDependents(services, 'cache'), []);
  assert.deepEqual(withRestartDependents(services, ['db']), ['db', 'api', 'web']);
  assert.deepEqual(withRestartDependents(services, ['cache']), ['cache']);
  assert.deepEqual(withRestartDependents(services, ['web']), ['web'], 'dependencies are not taken along');
});

/** A daemon in memory: containers as lists return them, every call logged as `verb name`. */
function fakeEnv(project: Project, existing: ContainerSummary[]): { env: ComposeEnv; calls: string[] } {
  const calls: string[] = [];
  const byId = new Map(existing.map((c) => [c.Id, c]));
  let n = 0;
  const name = (id: string) => (byId.get(id)?.Names?.[0] ?? id).replace(/^\//, '');
  const client = {
    containerList: async () => [...byId.values()].map((c) => ({ ...c })),
    containerStop: async (id: string) => { calls.push(`stop ${name(id)}`); byId.get(id)!.State = 'exited'; },
    containerStart: async (id: string) => { calls.push(`start ${name(id)}`); byId.get(id)!.State = 'running'; },
    containerRestart: async (id: string) => { calls.push(`restart ${name(id)}`); },
    containerInspect: async () => ({ Mounts: [] }),
    containerRename: async (id: string, to: string) => { byId.get(id)!.Names = [`/${to}`]; },
    containerRemove: async (id: string) => { calls.push(`remove ${name(id)}`); byId.delete(id); },
    containerCreate: async (body: { Labels: Record<string, string> }, cname: string) => {
      const Id = `new${++n}`.padEnd(64, '0');
      byId.set(Id, { Id, Names: [`/${cname}`], State: 'created', Labels: body.Labels } as unknown as ContainerSummary);
      calls.push(`create ${cname}`);
      return { Id };
    },
    networkConnect: async () => undefined,
  } as unknown as Client;
  const env: ComposeEnv = { client, project, progress: { start() {}, event() {}, done() {} }, out() {}, err() {}, tty: false };
  return { env, calls };
}

function running(p: Project, service: string, hash = serviceHash(p.services[service])): ContainerSummary {
  const plan = containerPlan(p, service, 1, { publishPorts: true });
  const labels = { ...(plan.body.Labels as Record<string, string>), 'com.docker.compose.config-hash': hash };
  return { Id: `${service}`.padEnd(64, 'f'), Names: [`/${plan.name}`], State: 'running', Labels: labels } as unknown as ContainerSummary;
}

test('up: a recreated dependency stops its restart: true dependents first and they start again after it; others are left alone', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-restart-'));
  try {
    writeFileSync(path.join(dir, 'compose.yaml'), `services:
  db: {image: busybox}
  api:
    image: busybox
    depends_on:
      db: {condition: service_started, restart: true}
  worker:
    image: busybox
    depends_on: [db]
`);
    const p = loadProject({ cwd: dir, env: { HOME: dir } });
    const { env, calls } = fakeEnv(p, [running(p, 'db', 'stale'), running(p, 'api'), running(p, 'worker')]);
    const services = Object.keys(p.services);
    const conv = await createContainers(env, services, {});
    await startContainers(env, services, conv, new EventWatcher(env.client, p.name));
    const x = p.name;
    // the old db is renamed aside before its replacement is created under its name
    assert.deepEqual(calls, [`stop ${x}-api-1`, `stop ${x}-db-1`, `create ${x}-db-1`, `remove dbffffffffff_${x}-db-1`, `start ${x}-db-1`, `start ${x}-api-1`]);
    // nothing recreated: nothing stopped
    const again = fakeEnv(p, [running(p, 'db'), running(p, 'api'), running(p, 'worker')]);
    await startContainers(again.env, services, await createContainers(again.env, services, {}), new EventWatcher(again.env.client, p.name));
    assert.deepEqual(again.calls, []);
    // restart db takes api along (after db), not worker; --no-deps only db
    const r = fakeEnv(p, [running(p, 'db'), running(p, 'api'), running(p, 'worker')]);
    await act(r.env, 'restart', ['db']);
    assert.deepEqual(r.calls, [`restart ${p.name}-db-1`, `restart ${p.name}-api-1`]);
    const nd = fakeEnv(p, [running(p, 'db'), running(p, 'api'), running(p, 'worker')]);
    await act(nd.env, 'restart', ['db'], { noDeps: true });
    assert.deepEqual(nd.calls, [`restart ${p.name}-db-1`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
