// How a failed exec start reads: runc's sentences as dockerd 20.10 wrote them on the stream beside berth (the
// texts below were printed by the docker CLI against both daemons), from crun's and the native shim's words.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execStartFailure, CWD_NOT_ABSOLUTE } from '../../src/engine/exec/errors';

const P = 'OCI runtime exec failed: exec failed: unable to start container process: ';

test('a missing working directory, from the native shim and from crun (coloured on a terminal)', () => {
  const want = `${P}chdir to cwd ("/nonexistent") set in config.json failed: no such file or directory: unknown`;
  assert.equal(execStartFailure('true', 'chdir to cwd ("/nonexistent") set in config.json failed: No such file or directory'), want);
  assert.equal(execStartFailure('true', 'chdir `/nonexistent`: No such file or directory'), want);
  assert.equal(execStartFailure('true', '\x1b[31mchdir `/nonexistent`: No such file or directory\x1b[0m'), want);
});

test('a working directory that is a file gets dockerd\'s hint', () => {
  assert.equal(execStartFailure('true', 'chdir `/etc/passwd`: Not a directory'),
    `${P}chdir to cwd ("/etc/passwd") set in config.json failed: not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`);
});

test('a missing program and one that cannot be run', () => {
  assert.equal(execStartFailure('nosuch', 'executable file `nosuch` not found in $PATH: No such file or directory'),
    `${P}exec: "nosuch": executable file not found in $PATH: unknown`);
  assert.equal(execStartFailure('/etc', 'exec `/etc`: Permission denied'), `${P}exec: "/etc": permission denied: unknown`);
});

test('a relative cwd is refused before anything runs, in runc\'s words', () => {
  assert.equal(CWD_NOT_ABSOLUTE, 'OCI runtime exec failed: exec failed: Cwd must be an absolute path: unknown');
});
