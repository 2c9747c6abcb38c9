// The config a commit writes: --change applied to the container's Config, docker's completion of a request's
// Config from the container's, and the document itself (sorted top-level keys, Go's field order, history).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { commitConfigBytes, commitRunConfig, goContainerConfig } from '../../src/storage/commit-config';
import { EngineError } from '../../src/common/errors';
import type { ImageConfigFile } from '../../src/storage/image-config';

const container = {
  Hostname: 'abc123', Domainname: '', User: 'app', AttachStdin: false, AttachStdout: true, AttachStderr: true,
  ExposedPorts: { '80/tcp': {} }, Tty: false, OpenStdin: false, StdinOnce: false, Env: ['PATH=/bin', 'A=1'],
  Cmd: ['sh', '-c', 'echo hi > /x'], Image: 'busybox', Volumes: null, WorkingDir: '/srv', Entrypoint: null,
  OnBuild: null, Labels: { team: 'x' },
};

test('without a request Config, the container\'s is used and the changes are applied to it', () => {
  const c = commitRunConfig(container, undefined, ['CMD ["cat","/x"]', 'ENV B=2 A=3', 'LABEL v=1', 'EXPOSE 53/udp']);
  assert.deepEqual(c.Cmd, ['cat', '/x']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=3', 'B=2']);
  assert.deepEqual(c.Labels, { team: 'x', v: '1' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(c.Hostname, 'abc123');
  assert.equal(c.User, 'app');
  assert.equal(container.Cmd.length, 3, 'the container record is not touched');
});

test('a request Config is completed from the container\'s, the way docker merges', () => {
  const c = commitRunConfig(container, { Env: ['A=9', 'C=3'], Labels: { v: '2' }, ExposedPorts: { '443/tcp': {} } }, []);
  assert.deepEqual(c.Env, ['A=9', 'C=3', 'PATH=/bin']);
  assert.deepEqual(c.Labels, { team: 'x', v: '2' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '443/tcp': {} });
  assert.deepEqual(c.Cmd, container.Cmd); // no Entrypoint and no Cmd: both taken over
  assert.equal(c.User, 'app');
  assert.equal(c.WorkingDir, '/srv');
  assert.equal(c.Hostname, undefined); // not completed, as with docker
});

test('ENTRYPOINT drops the container\'s CMD; an empty CMD brings it back (docker\'s merge)', () => {
  const e = commitRunConfig(container, undefined, ['ENTRYPOINT ["/app"]']);
  assert.deepEqual(e.Entrypoint, ['/app']);
  assert.equal(e.Cmd, null);
  const empty = commitRunConfig(container, undefined, ['CMD []']);
  assert.deepEqual(empty.Cmd, container.Cmd);
});

test('a bad change is a 400 with docker\'s text', () => {
  assert.throws(() => commitRunConfig(container, undefined, ['FROM busybox']), (e: unknown) => e instanceof EngineError && e.status === 400 && e.message === 'from is not a valid change command');
  assert.throws(() => commitRunConfig(container, undefined, ['EXPOSE 99999']), /invalid containerPort: 99999/);
});

test('the document: sorted keys, Go field order, history appended, platform from the parent', () => {
  const parent: ImageConfigFile = {
    architecture: 'arm64', variant: 'v8', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:aa'] },
    history: [{ created: '2020-01-01T00:00:00Z', comment: 'Imported from -' }],
  };
  const bytes = commitConfigBytes({
    parent, parentDiffIds: ['sha256:aa'], diffId: 'sha256:bb', config: commitRunConfig(container, undefined, []),
    containerConfig: container, containerId: 'c0ffee', createdBy: 'sh -c echo hi > /x', author: 'Me', comment: 'msg',
    created: '2024-05-06T07:08:09.123Z',
  });
  const doc = JSON.parse(bytes.toString());
  assert.deepEqual(Object.keys(doc), ['architecture', 'author', 'comment', 'config', 'container', 'container_config', 'created', 'history', 'os', 'rootfs', 'variant']);
  assert.equal(doc.architecture, 'arm64');
  assert.deepEqual(doc.rootfs, { type: 'layers', diff_ids: ['sha256:aa', 'sha256:bb'] });
  assert.deepEqual(doc.history[1], { created: '2024-05-06T07:08:09.123Z', author: 'Me', created_by: 'sh -c echo hi > /x', comment: 'msg' });
  assert.deepEqual(Object.keys(doc.config), ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts',
    'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels']);
  assert.equal(bytes.toString(), JSON.stringify(doc), 'compact, as Go writes it');

  // nothing changed: no layer, an empty_layer entry; without a parent image, this host's platform
  const empty = JSON.parse(commitConfigBytes({
    parentDiffIds: ['sha256:aa'], config: {}, containerConfig: container, containerId: 'c0ffee', createdBy: '', created: '2024-01-01T00:00:00Z',
  }).toString());
  assert.deepEqual(empty.rootfs.diff_ids, ['sha256:aa']);
  assert.deepEqual(empty.history, [{ created: '2024-01-01T00:00:00Z', empty_layer: true }]);
  assert.equal(empty.os, 'linux');
});

test('Go\'s zero values and omitempty in a container config', () => {
  const c = goContainerConfig({ Cmd: 'true', ExposedPorts: {}, Labels: { b: '1', a: '2' }, StopTimeout: 0 });
  assert.equal(c.ExposedPorts, undefined);
  assert.deepEqual(c.Cmd, ['true']);
  assert.equal(c.Env, null);
  assert.deepEqual(Object.keys(c.Labels as object), ['a', 'b']);
  assert.equal(c.StopTimeout, 0);
  assert.equal(c.Hostname, '');
});
