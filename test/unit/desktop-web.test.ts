// The page's pure logic, run in Node: ANSI colour parsing (text stays text), match highlighting across
// colour segments, and the run form's docker-style -p/-e/-v parsing.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseAnsi, splitByRanges, stripAnsi } from '../../src/desktop/web/ansi';
import { buildCreateBody, checkName, parsePort, splitCommand } from '../../src/desktop/web/run-spec';

describe('desktop web: ANSI', () => {
  it('turns SGR codes into classes and drops other escapes', () => {
    const segs = parseAnsi('a\x1b[1;31mred\x1b[0m b\x1b]0;title\x07\x1b[2Kc');
    assert.deepEqual(segs.map((s) => [s.text, s.cls]), [['a', ''], ['red', 'a-b a-f1'], [' b', ''], ['c', '']]);
    assert.equal(stripAnsi('x\x1b[38;5;196my\x1b[0m'), 'xy');
  });
  it('handles 256 and true colours', () => {
    const [s] = parseAnsi('\x1b[38;2;10;20;30mx');
    assert.equal(s.color, 'rgb(10,20,30)');
    const [t] = parseAnsi('\x1b[38;5;9mx');
    assert.equal(t.cls, 'a-f9');
  });
  it('keeps markup as text', () => {
    const segs = parseAnsi('<img src=x onerror=alert(1)>\x1b[32m<b>');
    assert.equal(segs.map((s) => s.text).join(''), '<img src=x onerror=alert(1)><b>');
  });
  it('marks match ranges across segments', () => {
    const segs = parseAnsi('ab\x1b[31mcd\x1b[0mef');
    const out = splitByRanges(segs, [[1, 5]]);
    assert.deepEqual(out.map((p) => [p.text, p.mark, p.cls]), [['a', -1, ''], ['b', 0, ''], ['cd', 0, 'a-f1'], ['e', 0, ''], ['f', -1, '']]);
  });
});

describe('desktop web: run form', () => {
  it('parses docker -p forms', () => {
    assert.deepEqual(parsePort('8080:80'), { key: '80/tcp', binding: { HostIp: '', HostPort: '8080' } });
    assert.deepEqual(parsePort('127.0.0.1:5432:5432/tcp'), { key: '5432/tcp', binding: { HostIp: '127.0.0.1', HostPort: '5432' } });
    assert.deepEqual(parsePort('127.0.0.1::53/udp'), { key: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '' } });
    assert.deepEqual(parsePort('80'), { key: '80/tcp', binding: undefined });
    assert.throws(() => parsePort('80:99999'), /out of range/);
    assert.throws(() => parsePort('x:80'), /invalid port/);
  });
  it('builds a create body', () => {
    const b = buildCreateBody({ image: 'busybox', name: '', command: 'sh -c "echo hi there"', ports: '8080:80, 9090:90', env: 'A=1\nB=2', volumes: 'data:/data\n/h:/c:ro', network: 'appnet', restart: 'always' }) as any;
    assert.deepEqual(b.Cmd, ['sh', '-c', 'echo hi there']);
    assert.deepEqual(Object.keys(b.ExposedPorts), ['80/tcp', '90/tcp']);
    assert.deepEqual(b.Env, ['A=1', 'B=2']);
    assert.deepEqual(b.HostConfig.Binds, ['data:/data', '/h:/c:ro']);
    assert.equal(b.HostConfig.NetworkMode, 'appnet');
    assert.equal(b.HostConfig.RestartPolicy.Name, 'always');
  });
  it('refuses bad input with docker\'s words', () => {
    assert.throws(() => buildCreateBody({ image: '', name: '', command: '', ports: '', env: '', volumes: '', network: '', restart: '' }), /image is required/);
    assert.throws(() => buildCreateBody({ image: 'a b', name: '', command: '', ports: '', env: '', volumes: '', network: '', restart: '' }), /invalid reference format/);
    assert.throws(() => buildCreateBody({ image: 'x', name: '', command: '', ports: '', env: '', volumes: 'data', network: '', restart: '' }), /invalid volume/);
    assert.throws(() => checkName('bad name'), /Invalid container name/);
    assert.deepEqual(splitCommand(`a 'b c' "d \\"e\\""`), ['a', 'b c', 'd "e"']);
  });
});
