// distribution/endpoint: which URL serves a registry, and which registries are insecure (docker's rules).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  resolveEndpoint, isLoopbackDomain, isInsecureDomain, cidrContains, splitHostPort, candidateUrls, rememberWorkingUrl, resetEndpointMemory,
} from '../../src/distribution/endpoint';

test('Docker Hub', () => {
  for (const d of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
    assert.deepEqual(resolveEndpoint(d), { domain: 'docker.io', baseUrl: 'https://registry-1.docker.io', insecure: false });
  }
});

test('secure registries: https only', () => {
  assert.deepEqual(resolveEndpoint('ghcr.io'), { domain: 'ghcr.io', baseUrl: 'https://ghcr.io', insecure: false });
  assert.deepEqual(resolveEndpoint('registry.example.com:5000'), { domain: 'registry.example.com:5000', baseUrl: 'https://registry.example.com:5000', insecure: false });
});

test('loopback registries: https first, http fallback, with any port', () => {
  for (const d of ['localhost:5000', 'localhost', '127.0.0.1:5000', '127.3.2.1', '[::1]:5000', 'foo.localhost:1234']) {
    const e = resolveEndpoint(d);
    assert.equal(e.insecure, true, d);
    assert.equal(e.baseUrl, `https://${d}`);
    assert.equal(e.fallbackUrl, `http://${d}`);
    assert.equal(isLoopbackDomain(d), true, d);
  }
  for (const d of ['128.0.0.1:5000', 'localhost.example.com', '[::2]:5000', 'my-localhost:5000']) assert.equal(isLoopbackDomain(d), false, d);
});

test('--insecure-registry entries: host[:port], host on any port, CIDR, scheme tolerated', () => {
  const list = ['myreg:5000', 'other', '10.20.0.0/16', 'fd00::/8', 'http://withscheme:1/'];
  assert.equal(isInsecureDomain('myreg:5000', list), true);
  assert.equal(isInsecureDomain('myreg:5001', list), false);
  assert.equal(isInsecureDomain('myreg', list), false);
  assert.equal(isInsecureDomain('other:443', list), true);
  assert.equal(isInsecureDomain('other', list), true);
  assert.equal(isInsecureDomain('10.20.3.4:5000', list), true);
  assert.equal(isInsecureDomain('10.21.3.4:5000', list), false);
  assert.equal(isInsecureDomain('[fd12::1]:5000', list), true);
  assert.equal(isInsecureDomain('withscheme:1', list), true);
  assert.equal(isInsecureDomain('MyReg:5000', list), true);
  assert.equal(resolveEndpoint('10.20.3.4:5000', { insecureRegistries: list }).fallbackUrl, 'http://10.20.3.4:5000');
  assert.equal(resolveEndpoint('10.21.3.4:5000', { insecureRegistries: list }).fallbackUrl, undefined);
});

test('CIDR arithmetic', () => {
  assert.equal(cidrContains('127.0.0.0/8', '127.255.0.1'), true);
  assert.equal(cidrContains('192.168.1.0/24', '192.168.2.1'), false);
  assert.equal(cidrContains('192.168.1.0/23', '192.168.0.7'), true);
  assert.equal(cidrContains('0.0.0.0/0', '8.8.8.8'), true);
  assert.equal(cidrContains('10.0.0.0/8', '::ffff:10.1.2.3'), true);
  assert.equal(cidrContains('::1/128', '::1'), true);
  assert.equal(cidrContains('2001:db8::/32', '2001:db8:1::5'), true);
  assert.equal(cidrContains('2001:db8::/32', '2001:db9::5'), false);
  assert.equal(cidrContains('10.0.0.0/33', '10.0.0.1'), false);
  assert.equal(cidrContains('10.0.0.0/8', 'not-an-ip'), false);
});

test('host:port splitting', () => {
  assert.deepEqual(splitHostPort('a:1'), { host: 'a', port: '1' });
  assert.deepEqual(splitHostPort('a'), { host: 'a' });
  assert.deepEqual(splitHostPort('[::1]:5'), { host: '::1', port: '5' });
  assert.deepEqual(splitHostPort('[::1]'), { host: '::1', port: undefined });
});

test('the scheme that worked is tried first next time', () => {
  resetEndpointMemory();
  const e = resolveEndpoint('localhost:7000');
  assert.deepEqual(candidateUrls(e), ['https://localhost:7000', 'http://localhost:7000']);
  rememberWorkingUrl(e, 'http://localhost:7000');
  assert.deepEqual(candidateUrls(e), ['http://localhost:7000', 'https://localhost:7000']);
  resetEndpointMemory();
});
