// --security-opt as dockerd parses it: separators, booleans, what is accepted without effect, the errors.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseSecurityOpt } from '../../src/engine/containers/security-opt';

test('security-opt: seccomp and no-new-privileges, both separators; AppArmor and SELinux options accepted', () => {
  assert.deepEqual(parseSecurityOpt(null), { seccomp: 'default', noNewPrivileges: false });
  assert.deepEqual(parseSecurityOpt(['seccomp=unconfined']), { seccomp: 'unconfined', noNewPrivileges: false });
  assert.deepEqual(parseSecurityOpt(['seccomp:unconfined']), { seccomp: 'unconfined', noNewPrivileges: false });
  assert.deepEqual(parseSecurityOpt(['seccomp=builtin']), { seccomp: 'default', noNewPrivileges: false });
  assert.deepEqual(parseSecurityOpt(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccomp, '{"defaultAction":"SCMP_ACT_ALLOW"}');
  assert.equal(parseSecurityOpt(['no-new-privileges']).noNewPrivileges, true);
  assert.equal(parseSecurityOpt(['no-new-privileges=true']).noNewPrivileges, true);
  assert.equal(parseSecurityOpt(['no-new-privileges:1']).noNewPrivileges, true);
  assert.equal(parseSecurityOpt(['no-new-privileges', 'no-new-privileges=false']).noNewPrivileges, false);
  assert.deepEqual(parseSecurityOpt(['apparmor=unconfined', 'label=disable', 'label:type:svirt_t', 'disable', 'writable-cgroups']), { seccomp: 'default', noNewPrivileges: false });
});

test('security-opt: dockerd\'s errors, as 400s', () => {
  const status = (opt: string) => { try { parseSecurityOpt([opt]); return 0; } catch (err) { return (err as { status?: number }).status ?? -1; } };
  assert.throws(() => parseSecurityOpt(['label']), { message: 'invalid --security-opt 1: "label"' });
  assert.throws(() => parseSecurityOpt(['unknown=something']), { message: 'invalid --security-opt 2: "unknown=something"' });
  assert.throws(() => parseSecurityOpt(['writable-cgroups=dang']), { message: 'invalid --security-opt 2: "writable-cgroups=dang"' });
  assert.equal(status('bogus'), 400);
});
