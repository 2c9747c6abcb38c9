// 20 attach/detach cycles per mode: nothing may leak, and the added start/stop cost is measured (median).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readdirSync } from 'fs';
import * as path from 'path';
import { NetFixture, isRoot } from './network-fixture';
import { NetworkManager, PortSpec } from '../../src/network';

const skip = !isRoot ? 'needs root' : false;
const fx = new NetFixture();
let mgr: NetworkManager;
const CYCLES = 20;

before(async () => { if (!skip) mgr = await fx.open(); });
after(async () => { if (!skip) await fx.cleanup(); });

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = () => Number(process.hrtime.bigint()) / 1e6;

const cases: [string, 'bridge' | 'none', PortSpec[]][] = [
  ['none', 'none', []],
  ['bridge', 'bridge', []],
  ['bridge+1 port', 'bridge', [{ containerPort: 80, protocol: 'tcp', hostIp: '', hostPort: 0 }]],
];

for (const [label, mode, ports] of cases) {
  test(`${CYCLES}+${CYCLES} attach/detach cycles (${label}) leak nothing`, { skip }, async (t) => {
    const before = (await fx.quiet());
    const ipamDir = path.join(fx.dataRoot, 'network', 'ipam', 'bridge');
    const ipFiles = () => readdirSync(ipamDir).filter((f) => /^\d/.test(f)).sort();
    const ipsBefore = ipFiles();
    const att: number[] = [];
    const det: number[] = [];
    const burstAtt: number[] = [];
    const burstDet: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      // a container lives a while: the pre-started helpers are back in place when the next one starts or stops
      await mgr.settle();
      const id = fx.id();
      let t0 = ms();
      const a = await mgr.attach(id, { mode, ports });
      att.push(ms() - t0);
      await mgr.settle();
      t0 = ms();
      await mgr.detach(id, a);
      det.push(ms() - t0);
    }
    for (let i = 0; i < CYCLES; i++) {
      // back to back (a burst like `compose up`): mostly without pre-started helpers
      const id = fx.id();
      let t0 = ms();
      const a = await mgr.attach(id, { mode, ports });
      burstAtt.push(ms() - t0);
      t0 = ms();
      await mgr.detach(id, a);
      burstDet.push(ms() - t0);
    }
    assert.deepEqual((await fx.quiet()), before);
    assert.deepEqual(ipFiles(), ipsBefore);
    assert.deepEqual(readdirSync(path.join(fx.dataRoot, 'network', 'endpoints')), []);
    assert.deepEqual(readdirSync(mgr.netnsDir).map((f) => path.join(mgr.netnsDir, f)).sort(), mgr.spareNetns().sort());
    const line = `network ${label}: attach median ${median(att).toFixed(1)} ms (min ${Math.min(...att).toFixed(1)}), ` +
      `detach median ${median(det).toFixed(1)} ms (min ${Math.min(...det).toFixed(1)}) over ${CYCLES} cycles; ` +
      `back to back: attach ${median(burstAtt).toFixed(1)} ms, detach ${median(burstDet).toFixed(1)} ms`;
    t.diagnostic(line);
    console.log(line);
  });
}
