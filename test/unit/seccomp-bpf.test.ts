// berth-seccomp's programs: Docker's default profile compiled as a binary tree (what containers and execs get)
// decides every syscall exactly as the list the runtimes would make, on all three x86 ABIs, for the argument
// values the profile tests and around them. The programs are run here by a small classic-BPF interpreter.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { builtBinary } from '../../src/runtime/binaries';
import { seccompFor, seccompBpf, profileDirectives } from '../../src/runtime/seccomp';
import { DEFAULT_CAPABILITIES } from '../../src/runtime/spec';

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const X32_SYSCALL_BIT = 0x40000000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;

interface SeccompData { nr: number; arch: number; args: bigint[] }

/** Runs a classic BPF program (the instructions a seccomp filter may use) on one syscall; returns its verdict. */
function runFilter(prog: Buffer, d: SeccompData): number {
  const word = (off: number): number => {
    if (off === 0) return d.nr >>> 0;
    if (off === 4) return d.arch >>> 0;
    if (off >= 16 && off < 64 && off % 4 === 0) {
      const arg = d.args[(off - 16) >> 3] ?? 0n;
      return Number(off % 8 === 0 ? arg & 0xffffffffn : arg >> 32n) >>> 0;
    }
    if (off === 8 || off === 12) return 0; // instruction pointer
    throw new Error(`load from offset ${off}`);
  };
  let a = 0;
  let x = 0;
  const mem = new Array<number>(16).fill(0);
  for (let pc = 0; pc * 8 < prog.length;) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog[pc * 8 + 2];
    const jf = prog[pc * 8 + 3];
    const k = prog.readUInt32LE(pc * 8 + 4);
    pc++;
    const src = code & 0x08 ? x : k;
    switch (code & 0x07) {
      case 0x00: // LD
        if ((code & 0xe0) === 0x20) a = word(k);
        else if ((code & 0xe0) === 0x00) a = k;
        else if ((code & 0xe0) === 0x60) a = mem[k];
        else throw new Error(`ld mode ${code}`);
        break;
      case 0x01: x = (code & 0xe0) === 0x60 ? mem[k] : k; break; // LDX
      case 0x02: mem[k] = a; break; // ST
      case 0x03: mem[k] = x; break; // STX
      case 0x04: { // ALU
        const op = code & 0xf0;
        if (op === 0x50) a = (a & src) >>> 0;
        else if (op === 0x40) a = (a | src) >>> 0;
        else if (op === 0xa0) a = (a ^ src) >>> 0;
        else if (op === 0x00) a = (a + src) >>> 0;
        else if (op === 0x10) a = (a - src) >>> 0;
        else if (op === 0x60) a = (a << src) >>> 0;
        else if (op === 0x70) a = a >>> src;
        else throw new Error(`alu op ${op}`);
        break;
      }
      case 0x05: { // JMP
        const op = code & 0xf0;
        if (op === 0x00) { pc += k; break; }
        const taken = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : op === 0x40 ? (a & src) !== 0 : undefined;
        if (taken === undefined) throw new Error(`jmp op ${op}`);
        pc += taken ? jt : jf;
        break;
      }
      case 0x06: return (code & 0x18) === 0x10 ? a : k; // RET
      case 0x07: if (code & 0x80) a = x; else x = a; break; // MISC: TXA / TAX
    }
  }
  throw new Error('the program ran off its end');
}

function compile(directives: string): Buffer {
  const bin = builtBinary('src/runtime/seccomp/berth-seccomp');
  assert.ok(bin, 'berth-seccomp is built (npm run build)');
  return execFileSync(bin, [], { input: directives });
}

/** The directives with a layout line after the default one. */
function withLayout(directives: string, layout: string): string {
  const [first, ...rest] = directives.split('\n');
  return [first, `layout ${layout}`, ...rest].join('\n');
}

test('seccomp: the default profile as a tree decides like the list, for every syscall of the three x86 ABIs', async () => {
  const profile = seccompFor(DEFAULT_CAPABILITIES);
  const directives = profileDirectives(profile);
  const tree = compile(directives);
  const list = compile(withLayout(directives, 'linear'));
  assert.notDeepEqual(tree, list, 'two layouts');
  // the daemon hands the tree to the runtime
  assert.equal(await seccompBpf(profile), tree.toString('base64'));

  // the argument values the profile compares with, and their neighbours
  const values = new Set<bigint>([0n, 1n, 0xffffffffn, 0xffffffffffffffffn, 0x100000000n]);
  for (const rule of profile.syscalls) {
    for (const arg of (rule.args ?? []) as Array<{ value: number; valueTwo?: number }>) {
      for (const v of [arg.value, arg.valueTwo ?? 0]) {
        const b = BigInt(v);
        values.add(b); values.add(b + 1n); if (b > 0n) values.add(b - 1n);
      }
    }
  }
  const argSets: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
  for (const v of values) {
    argSets.push([v, v, v, v, v, v]);
    for (let i = 0; i < 6; i++) argSets.push(Array.from({ length: 6 }, (_, j) => (j === i ? v : 0n)));
  }
  const abis = [
    { arch: AUDIT_ARCH_X86_64, base: 0 }, { arch: AUDIT_ARCH_X86_64, base: X32_SYSCALL_BIT }, { arch: AUDIT_ARCH_I386, base: 0 },
    { arch: 0xdeadbeef, base: 0 }, // an architecture the profile does not name
  ];
  let compared = 0;
  const verdicts = new Set<number>();
  for (const { arch, base } of abis) {
    for (let n = 0; n < 600; n++) {
      for (const args of argSets) {
        const d = { nr: base + n, arch, args };
        const want = runFilter(list, d);
        assert.equal(runFilter(tree, d), want, `syscall ${n} (arch ${arch.toString(16)}, x32 ${base !== 0}) args ${args.join(',')}`);
        verdicts.add(want);
        compared++;
      }
    }
  }
  assert.ok(compared > 100_000, `${compared} syscalls compared`);
  assert.ok(verdicts.size >= 3, 'allowed, refused and the default all occur');

  // and what the profile says, on x86_64: read allowed; personality only with the profile's values; an unknown
  // number gets the profile's default errno (ENOSYS)
  const x86 = (nr: number, arg0 = 0n) => runFilter(tree, { nr, arch: AUDIT_ARCH_X86_64, args: [arg0, 0n, 0n, 0n, 0n, 0n] });
  assert.equal(x86(0), SECCOMP_RET_ALLOW);
  assert.equal(x86(135, 0n), SECCOMP_RET_ALLOW);
  assert.notEqual(x86(135, 0x12345n), SECCOMP_RET_ALLOW);
  assert.equal(x86(599), SECCOMP_RET_ERRNO | (profile.defaultErrnoRet ?? 1));
});

test('seccomp: the default profile decides as Docker\'s where containers-common\'s is wider', () => {
  const program = (caps: string[]) => compile(profileDirectives(seccompFor(caps)));
  const plain = program(DEFAULT_CAPABILITIES);
  const admin = program([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']);
  const call = (prog: Buffer, nr: number, ...args: bigint[]) =>
    runFilter(prog, { nr, arch: AUDIT_ARCH_X86_64, args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) });
  const EPERM = SECCOMP_RET_ERRNO | 1;
  const x86_64 = { clone: 56, socket: 41, syslog: 103, pivotRoot: 155, mount: 165, reboot: 169, keyctl: 250, unshare: 272, vmsplice: 278, setns: 308, clone3: 435, pidfdGetfd: 438 };
  for (const nr of [x86_64.unshare, x86_64.setns, x86_64.mount, x86_64.keyctl, x86_64.pivotRoot, x86_64.syslog, x86_64.reboot, x86_64.pidfdGetfd]) {
    assert.equal(call(plain, nr), EPERM, `syscall ${nr} refused with EPERM`);
  }
  assert.equal(call(admin, x86_64.unshare), SECCOMP_RET_ALLOW);
  assert.equal(call(admin, x86_64.setns), SECCOMP_RET_ALLOW);
  assert.equal(call(admin, x86_64.keyctl), EPERM, 'keyrings stay closed even with CAP_SYS_ADMIN, as in Docker');
  // clone: a thread or a process, not a namespace (CLONE_NEWUSER), unless CAP_SYS_ADMIN; clone3 ENOSYS for libc's fallback
  const SIGCHLD = 17n;
  const CLONE_NEWUSER = 0x10000000n;
  assert.equal(call(plain, x86_64.clone, SIGCHLD), SECCOMP_RET_ALLOW);
  assert.equal(call(plain, x86_64.clone, 0x3d0f00n), SECCOMP_RET_ALLOW); // glibc's pthread_create flags
  assert.notEqual(call(plain, x86_64.clone, CLONE_NEWUSER | SIGCHLD), SECCOMP_RET_ALLOW);
  assert.equal(call(admin, x86_64.clone, CLONE_NEWUSER | SIGCHLD), SECCOMP_RET_ALLOW);
  assert.equal(call(plain, x86_64.clone3), SECCOMP_RET_ERRNO | 38);
  assert.equal(call(admin, x86_64.clone3), SECCOMP_RET_ALLOW);
  // sockets of every domain but AF_ALG (38) and AF_VSOCK (40)
  for (const domain of [1n, 2n, 10n, 16n, 17n, 39n, 44n]) assert.equal(call(plain, x86_64.socket, domain), SECCOMP_RET_ALLOW, `domain ${domain}`);
  for (const domain of [38n, 40n]) assert.notEqual(call(plain, x86_64.socket, domain), SECCOMP_RET_ALLOW, `domain ${domain}`);
  assert.equal(call(plain, x86_64.vmsplice), SECCOMP_RET_ALLOW);
});

test('seccomp: an unknown layout is refused', () => {
  assert.throws(() => compile('default SCMP_ACT_ERRNO 38\nlayout sideways\n'), /unknown layout/);
});
