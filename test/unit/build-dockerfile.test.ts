import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  AddInstruction, ArgInstruction, CopyInstruction, Dockerfile, DockerfileError, EnvInstruction, HealthcheckInstruction,
  Instruction, OnbuildInstruction, RunInstruction, findStage, parseDockerfile, parseRunMount, parseTriggers,
  runCommandLine,
} from '../../src/build/dockerfile';
import { EngineError } from '../../src/common/errors';

const parse = (text: string) => parseDockerfile(text);
/** The instructions of the only stage of `FROM scratch\n` + body. */
const body = (text: string): Instruction[] => parse(`FROM scratch\n${text}`).stages[0].instructions;
const one = <T extends Instruction>(text: string): T => {
  const ins = body(text);
  assert.equal(ins.length, 1, text);
  return ins[0] as T;
};

function rejects(text: string, message: string | RegExp, line?: number): DockerfileError {
  let caught: unknown;
  assert.throws(() => parseDockerfile(text), (err: unknown) => {
    caught = err;
    return true;
  }, text);
  assert.ok(caught instanceof DockerfileError, String(caught));
  assert.ok(caught instanceof EngineError);
  assert.equal(caught.status, 400);
  if (typeof message === 'string') assert.equal(caught.message, message, text);
  else assert.match(caught.message, message, text);
  if (line !== undefined) assert.equal(caught.line, line, `line of ${JSON.stringify(text)}`);
  return caught;
}
/** An instruction-level error in the second line (after FROM). */
const rejectsLine2 = (text: string, reason: string) =>
  rejects(`FROM scratch\n${text}`, `dockerfile parse error on line 2: ${reason}`, 2);
/** A line-reader error (Docker: failed to parse Dockerfile: …). */
const rejectsScan = (text: string, reason: string, line?: number) => rejects(text, `failed to parse Dockerfile: ${reason}`, line);

test('a Dockerfile with every instruction', () => {
  const df: Dockerfile = parse([
    '# syntax=docker/dockerfile:1',
    'ARG VERSION=3.19',
    'FROM --platform=$BUILDPLATFORM alpine:${VERSION} AS Build',
    'MAINTAINER someone@example.com',
    'RUN apk add --no-cache curl',
    'CMD ["sh", "-c", "echo hi"]',
    'ENTRYPOINT /init',
    'ENV A=1 B="two words"',
    'ARG X Y=2',
    'LABEL org.example="yes" other=value',
    'EXPOSE 8080/tcp 53/udp 80',
    'COPY --from=build --chown=1:2 --chmod=644 --link a b /dest/',
    'ADD --checksum=sha256:abc https://example.com/x.tgz /x/',
    'WORKDIR /app',
    'USER nobody:nogroup',
    'VOLUME ["/data", "/logs"]',
    'STOPSIGNAL SIGQUIT',
    'HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/ || exit 1',
    'SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
    'ONBUILD RUN echo triggered',
    '',
  ].join('\n'));
  assert.equal(df.file, 'Dockerfile');
  assert.equal(df.escape, '\\');
  assert.deepEqual(df.directives, { syntax: 'docker/dockerfile:1' });
  assert.deepEqual(df.globalArgs.map((a) => a.args), [[{ key: 'VERSION', value: '3.19' }]]);
  assert.equal(df.stages.length, 1);
  const st = df.stages[0];
  assert.equal(st.name, 'build'); // stage names are lower-cased
  assert.equal(st.index, 0);
  assert.deepEqual(st.from, { image: 'alpine:${VERSION}', platform: '$BUILDPLATFORM' });
  assert.equal(st.line, 3);
  assert.equal(st.original, 'FROM --platform=$BUILDPLATFORM alpine:${VERSION} AS Build');
  assert.deepEqual(st.instructions.map((i) => i.kind), ['MAINTAINER', 'RUN', 'CMD', 'ENTRYPOINT', 'ENV', 'ARG', 'LABEL',
    'EXPOSE', 'COPY', 'ADD', 'WORKDIR', 'USER', 'VOLUME', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'ONBUILD']);
  assert.deepEqual(st.instructions.map((i) => i.line), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  const [maint, run, cmd, ep, env, arg, label, expose, copy, add, wd, user, vol, sig, hc, shell, onbuild] = st.instructions;
  assert.deepEqual(maint, { kind: 'MAINTAINER', line: 4, endLine: 4, original: 'MAINTAINER someone@example.com', flags: [], maintainer: 'someone@example.com' });
  assert.deepEqual(run, {
    kind: 'RUN', line: 5, endLine: 5, original: 'RUN apk add --no-cache curl', flags: [], json: false,
    args: ['apk add --no-cache curl'], heredocs: [], mountSpecs: [], network: 'default', security: 'sandbox', devices: [],
  });
  assert.deepEqual([cmd.kind === 'CMD' && cmd.json, cmd.kind === 'CMD' && cmd.args], [true, ['sh', '-c', 'echo hi']]);
  assert.deepEqual([ep.kind === 'ENTRYPOINT' && ep.json, ep.kind === 'ENTRYPOINT' && ep.args], [false, ['/init']]);
  assert.deepEqual((env as EnvInstruction).pairs, [{ key: 'A', value: '1', legacy: false }, { key: 'B', value: '"two words"', legacy: false }]);
  assert.deepEqual((arg as ArgInstruction).args, [{ key: 'X' }, { key: 'Y', value: '2' }]);
  assert.deepEqual(label.kind === 'LABEL' && label.pairs.map((p) => [p.key, p.value]), [['org.example', '"yes"'], ['other', 'value']]);
  assert.deepEqual(expose.kind === 'EXPOSE' && expose.ports, ['53/udp', '80', '8080/tcp']); // sorted, like Docker
  assert.deepEqual(copy, {
    kind: 'COPY', line: 12, endLine: 12, original: 'COPY --from=build --chown=1:2 --chmod=644 --link a b /dest/',
    flags: ['--from=build', '--chown=1:2', '--chmod=644', '--link'], sources: ['a', 'b'], inline: [], dest: '/dest/',
    json: false, from: 'build', chown: '1:2', chmod: '644', link: true, parents: false, exclude: [],
  });
  assert.deepEqual((add as AddInstruction).checksum, 'sha256:abc');
  assert.deepEqual((add as AddInstruction).sources, ['https://example.com/x.tgz']);
  assert.equal(wd.kind === 'WORKDIR' && wd.path, '/app');
  assert.equal(user.kind === 'USER' && user.user, 'nobody:nogroup');
  assert.deepEqual(vol.kind === 'VOLUME' && [vol.json, vol.volumes], [true, ['/data', '/logs']]);
  assert.equal(sig.kind === 'STOPSIGNAL' && sig.signal, 'SIGQUIT');
  assert.deepEqual((hc as HealthcheckInstruction).health, { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 30e9, Retries: 3 });
  assert.deepEqual(shell.kind === 'SHELL' && shell.shell, ['/bin/bash', '-o', 'pipefail', '-c']);
  assert.deepEqual(onbuild, {
    kind: 'ONBUILD', line: 20, endLine: 20, original: 'ONBUILD RUN echo triggered', flags: [], trigger: 'RUN', expression: 'RUN echo triggered',
  });
  assert.deepEqual(df.warnings, [{ line: 4, message: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author' }]);
});

test('instructions are case-insensitive; leading whitespace is ignored', () => {
  const df = parse('from alpine as Base\n   run echo a\n\tCoPy a b\n  # indented comment\nfrom base');
  assert.deepEqual(df.stages.map((s) => s.name), ['base', undefined]);
  assert.deepEqual(df.stages[0].instructions.map((i) => [i.kind, i.line]), [['RUN', 2], ['COPY', 3]]);
  assert.equal(df.stages[1].from.image, 'base');
  assert.equal(df.stages[1].index, 1);
});

test('FROM: platform, stage names, argument count', () => {
  assert.deepEqual(parse('FROM --platform=linux/arm64 busybox').stages[0].from, { image: 'busybox', platform: 'linux/arm64' });
  assert.deepEqual(parse('FROM busybox as my-stage_1.x').stages[0].name, 'my-stage_1.x');
  assert.equal(parse('FROM busybox').stages[0].name, undefined);
  rejects('FROM', 'dockerfile parse error on line 1: FROM requires either one or three arguments', 1);
  rejects('FROM a AS', 'dockerfile parse error on line 1: FROM requires either one or three arguments');
  rejects('FROM a b c', 'dockerfile parse error on line 1: FROM requires either one or three arguments');
  rejects('FROM a AS 1st', 'dockerfile parse error on line 1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols');
  rejects('FROM a AS x$y', /invalid name for build stage: "x\$y"/);
  rejects('FROM --bogus=1 a', 'dockerfile parse error on line 1: unknown flag: --bogus');
  rejects('FROM --platfrom=x a', 'dockerfile parse error on line 1: unknown flag: --platfrom (did you mean platform?)');
  rejects('FROM --platform a', 'dockerfile parse error on line 1: missing a value on flag: --platform');
});

test('stages: global ARGs only before the first FROM, findStage', () => {
  const df = parse('ARG A\nARG B=1 C\nFROM x AS one\nARG A\nFROM y\nFROM one AS Three');
  assert.deepEqual(df.globalArgs.map((a) => a.args.map((d) => d.key)), [['A'], ['B', 'C']]);
  assert.equal(df.stages[0].instructions[0].kind, 'ARG');
  assert.equal(findStage(df, 'ONE')?.index, 0);
  assert.equal(findStage(df, '1')?.index, 1);
  assert.equal(findStage(df, 'three')?.index, 2);
  assert.equal(findStage(df, 'three', 2), undefined); // only stages before the one asking
  assert.equal(findStage(df, 'alpine'), undefined);
  assert.deepEqual(parse('FROM a AS x\nFROM b AS X').warnings, [{ line: 2, message: 'Duplicate stage name "x", stage names should be unique' }]);
});

test('errors: no FROM, unknown instructions, empty files', () => {
  rejects('RUN echo hi', 'no build stage in current context', 1);
  rejects('# comment\nARG X\nENV A=1\nFROM x', 'no build stage in current context', 3);
  rejects('ARG X=1\n', 'dockerfile contains no stages to build', 1);
  rejects('FROM x\nFOO bar', 'dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)');
  rejects('FROM x\nBOGUSTHING bar', 'dockerfile parse error on line 2: unknown instruction: BOGUSTHING');
  rejects('FROM x\nRUNN echo', 'dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)');
  rejects('FROM x\ncopyy a b', 'dockerfile parse error on line 2: unknown instruction: copyy (did you mean copy?)');
  rejects('FROM x\nWORKDIRR /x', 'dockerfile parse error on line 2: unknown instruction: WORKDIRR (did you mean WORKDIR?)');
  rejects('', 'the Dockerfile (Dockerfile) cannot be empty', 1);
  rejectsScan('# only\n\n   \n# comments\n', 'file with no instructions', 4);
  const err = rejects('FROM x\nRUN ok\n\nBOGUS\nRUN more', 'dockerfile parse error on line 4: unknown instruction: BOGUS', 4);
  assert.equal(err.reason, 'unknown instruction: BOGUS');
  assert.equal(err.where, 'Dockerfile:4');
  assert.equal(parseDockerfile('FROM x\nRUN ok', { file: 'build/Containerfile' }).file, 'build/Containerfile');
  assert.throws(() => parseDockerfile('FROM x\nNOPE', { file: 'other.Dockerfile' }), (e: unknown) => (e as DockerfileError).where === 'other.Dockerfile:2');
});

test('error excerpts are laid out like buildkit\'s', () => {
  const src = 'FROM busybox\nRUN one\nRUN two\nFOO bar\nRUN three\nRUN four\nRUN five\nRUN six';
  const err = rejects(src, /unknown instruction: FOO/);
  assert.equal(err.excerpt(src), [
    'Dockerfile:4',
    '--------------------',
    '   2 |     RUN one',
    '   3 |     RUN two',
    '   4 | >>> FOO bar',
    '   5 |     RUN three',
    '   6 |     RUN four',
    '--------------------',
    '',
  ].join('\n'));
  const multi = 'FROM x\nRUN <<EOF\nnever\nends';
  const e2 = rejectsScan(multi, 'unterminated heredoc', 2);
  assert.equal(e2.endLine, 4);
  assert.match(e2.excerpt(multi), /^Dockerfile:2\n-+\n {3}1 \| {5}FROM x\n {3}2 \| >>> RUN <<EOF\n {3}3 \| >>> never\n {3}4 \| >>> ends\n-+\n$/);
});

test('RUN: shell and exec forms, JSON edge cases', () => {
  assert.deepEqual(one<RunInstruction>('RUN ["echo", "a b"]').args, ['echo', 'a b']);
  assert.equal(one<RunInstruction>('RUN ["echo", "a b"]').json, true);
  assert.deepEqual(one<RunInstruction>('RUN   [ "x" ]   ').args, ['x']);
  assert.deepEqual(one<RunInstruction>('RUN []').args, []);
  // not valid JSON: the shell form, text as written
  assert.deepEqual(one<RunInstruction>("RUN ['single', 'quotes']").args, ["['single', 'quotes']"]);
  assert.deepEqual(one<RunInstruction>('RUN [echo hi').args, ['[echo hi']);
  assert.deepEqual(one<RunInstruction>('RUN ["a"] && b').args, ['["a"] && b']);
  assert.equal(one<RunInstruction>('RUN ["a"] && b').json, false);
  rejectsScan('FROM x\nRUN ["a", 1]', 'when using JSON array syntax, arrays must be comprised of strings only', 2);
  rejectsScan('FROM x\nCMD ["a", null]', 'when using JSON array syntax, arrays must be comprised of strings only');
  // a `#` inside an instruction is an argument
  assert.deepEqual(one<RunInstruction>("RUN echo 'we are running some # of cool things'").args, ["echo 'we are running some # of cool things'"]);
});

test('RUN flags: --mount, --network, --security, --device', () => {
  const run = one<RunInstruction>('RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok --network=none --security=insecure make');
  assert.deepEqual(run.mountSpecs, ['type=cache,target=/root/.cache', 'type=secret,id=tok']);
  assert.equal(run.network, 'none');
  assert.equal(run.security, 'insecure');
  assert.deepEqual(run.args, ['make']);
  assert.deepEqual(one<RunInstruction>('RUN --device=vendor.com/gpu=all x').devices, ['vendor.com/gpu=all']);
  assert.deepEqual(one<RunInstruction>('RUN --mount="type=bind,source=a b,target=/x" ls').mountSpecs, ['type=bind,source=a b,target=/x']);
  rejectsLine2('RUN --network=bridge x', 'invalid network mode "bridge"');
  rejectsLine2('RUN --security=root x', 'security "root" is not valid');
  rejectsLine2('RUN --network=none --network=host x', 'duplicate flag specified: --network');
  rejectsLine2('RUN --bind=type=cache x', 'unknown flag: --bind');
  rejectsLine2('RUN --mout=type=cache x', 'unknown flag: --mout (did you mean mount?)');
  rejectsLine2('RUN --mount x', 'missing a value on flag: --mount');
  rejectsLine2('RUN --mount=type=bind,from=$STAGE x', "'from' doesn't support variable expansion, define alias stage instead");
  rejectsLine2('RUN --mount=\\"type=bind x', 'failed to parse csv mounts: extraneous or missing " in quoted-field');
  rejectsLine2('RUN --mount=type=bind,source=a\\"b x', 'failed to parse csv mounts: bare " in non-quoted-field');
  // `--` ends the flags; flags are only at the start
  assert.deepEqual(one<RunInstruction>('RUN -- --not-a-flag').args, ['--not-a-flag']);
  assert.deepEqual(one<RunInstruction>('RUN echo --network=host').args, ['echo --network=host']);
  rejectsLine2('RUN --help', 'unknown flag: --help');
});

test('RUN --mount values are validated after expansion', () => {
  assert.deepEqual(parseRunMount('target=/src'), { type: 'bind', readonly: true, required: false, target: '/src' });
  assert.deepEqual(parseRunMount('type=cache,target=/c,id=go,sharing=locked,mode=0755,uid=1000,gid=1000'), {
    type: 'cache', readonly: false, required: false, target: '/c', id: 'go', sharing: 'locked', mode: 0o755, uid: 1000, gid: 1000,
  });
  assert.deepEqual(parseRunMount('type=tmpfs,dst=/t,size=64m'), { type: 'tmpfs', readonly: false, required: false, target: '/t', size: 64 * 1024 * 1024 });
  assert.deepEqual(parseRunMount('type=secret,id=npm,required,env=TOKEN'), { type: 'secret', readonly: true, required: true, id: 'npm', env: 'TOKEN' });
  assert.deepEqual(parseRunMount('type=bind,from=build,source=/out,target=/in,rw'), { type: 'bind', readonly: false, required: false, from: 'build', source: '/out', target: '/in' });
  assert.deepEqual(parseRunMount('TYPE=Bind,target=$T,ro=false', (w) => w.replace('$T', '/expanded')), { type: 'bind', readonly: false, required: false, target: '/expanded' });
  const bad = (spec: string, msg: string) => assert.throws(() => parseRunMount(spec), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.message, msg);
    return true;
  }, spec);
  bad('type=volume,target=/x', 'unsupported mount type "volume"');
  bad('type=cahce,target=/x', 'unsupported mount type "cahce" (did you mean cache?)');
  bad('type=bind,required', "unexpected key 'required' for mount type 'bind'");
  bad('type=bind,size=1m', "unexpected key 'size' for mount type 'bind'");
  bad('target', "invalid field 'target' must be a key=value pair");
  bad('type=bind,bogus=1', "unexpected key 'bogus' in 'bogus=1'");
  bad('type=bind,targt=/x', "unexpected key 'targt' in 'targt=/x' (did you mean target?)");
  bad('type=bind,target=/x,mode=0644', 'mode not allowed for "bind" type mounts');
  bad('type=cache,target=/x,mode=9', 'invalid value 9 for mode');
  bad('type=cache,target=/x,sharing=nope', 'unsupported sharing value "nope"');
  bad('type=bind,target=/x,sharing=shared', 'invalid cache sharing set for bind mount');
  bad('type=secret', 'invalid secret mount. one of source, target required');
  bad('type=secret,id=a,source=b', "both source and id can't be set");
  bad('type=secret,id=a,from=b', 'secret mount should not have a from');
  bad('type=bind,ro=maybe', 'invalid value for ro: maybe');
  bad('type=tmpfs,size=lots', 'invalid value for size: lots');
});

test('heredocs: RUN, COPY, chomping, quoting, several per line', () => {
  const df = parse([
    'FROM x',
    'RUN <<EOF',
    'echo "$HOME"',
    '  indented',
    'EOF',
    'RUN <<-EOT bash',
    '\tset -e',
    '\techo hi',
    '\tEOT',
    'RUN <<FILE1 cat > file1 && 3<< "FILE2" cat > file2',
    'I am',
    'first',
    'FILE1',
    "second with $HOME",
    'FILE2',
    'COPY <<-"EOT" /script.sh',
    '\techo "hello ${FOO}"',
    'EOT',
    'COPY <<A <<\'B\' src.txt /dst/',
    'a body',
    'A',
    'b body',
    'B',
    'RUN ["sh", "-c", "<<EOF"]',
    'RUN echo done',
  ].join('\n'));
  const [r1, r2, r3, c1, c2, r4, r5] = df.stages[0].instructions as [RunInstruction, RunInstruction, RunInstruction, CopyInstruction, CopyInstruction, RunInstruction, RunInstruction];
  assert.deepEqual(r1.heredocs, [{ name: 'EOF', fd: 0, expand: true, chomp: false, content: 'echo "$HOME"\n  indented\n' }]);
  assert.deepEqual([r1.line, r1.endLine, r1.args], [2, 5, ['<<EOF']]);
  assert.deepEqual(r2.heredocs, [{ name: 'EOT', fd: 0, expand: true, chomp: true, content: '\tset -e\n\techo hi\n' }]);
  assert.deepEqual(r3.heredocs.map((h) => [h.name, h.fd, h.expand, h.content]), [['FILE1', 0, true, 'I am\nfirst\n'], ['FILE2', 3, false, 'second with $HOME\n']]);
  assert.deepEqual([r3.line, r3.endLine], [10, 15]);
  assert.deepEqual(c1.inline, [{ name: 'EOT', data: 'echo "hello ${FOO}"\n', expand: false }]); // <<- strips the tabs
  assert.deepEqual(c1.sources, []);
  assert.deepEqual(c1.dest, '/script.sh');
  assert.deepEqual(c2.inline, [{ name: 'A', data: 'a body\n', expand: true }, { name: 'B', data: 'b body\n', expand: false }]);
  assert.deepEqual(c2.sources, ['src.txt']);
  assert.deepEqual([r4.json, r4.heredocs, r4.line], [true, [], 24]); // exec form: no heredocs
  assert.equal(r5.line, 25);

  rejectsScan('FROM x\nRUN <<EOF\necho never closed\n', 'unterminated heredoc', 2);
  rejectsScan('FROM x\nRUN cat <<A <<B\na\nA\n', 'unterminated heredoc', 2);
  rejectsLine2('COPY a <<EOF\nx\nEOF', 'COPY cannot accept a heredoc as a destination');
  // the delimiter must be alone on its line (after tabs for <<-)
  assert.deepEqual(one<RunInstruction>('RUN <<EOF\n EOF\nEOF x\nEOF').heredocs[0].content, ' EOF\nEOF x\n');
  // `<<` inside quotes is not a heredoc
  assert.deepEqual(one<RunInstruction>("RUN echo '<<EOF'").heredocs, []);
  // CRLF files: the delimiter still matches, bodies keep their line ends
  assert.deepEqual(body('RUN <<EOF\r\nline\r\nEOF\r\nRUN x\r\n').map((i) => i.kind), ['RUN', 'RUN']);
});

test('runCommandLine: how a RUN with heredocs executes', () => {
  assert.deepEqual(runCommandLine(one<RunInstruction>('RUN echo hi')), { args: ['echo hi'], prependShell: true });
  assert.deepEqual(runCommandLine(one<RunInstruction>('RUN ["ls", "-l"]')), { args: ['ls', '-l'], prependShell: false });
  assert.deepEqual(runCommandLine(one<RunInstruction>('RUN <<EOF\nmkdir -p foo\nEOF')), { args: ['mkdir -p foo\n'], prependShell: true });
  assert.deepEqual(runCommandLine(one<RunInstruction>('RUN <<-EOF\n\tmkdir -p foo\n\tEOF')), { args: ['mkdir -p foo\n'], prependShell: true });
  assert.deepEqual(runCommandLine(one<RunInstruction>('RUN <<EOF\n#!/usr/bin/env python\nprint(1)\nEOF')), {
    args: ['/dev/pipes/EOF'], prependShell: true, script: { name: 'EOF', data: '#!/usr/bin/env python\nprint(1)\n' },
  });
  assert.deepEqual(runCommandLine(one<RunInstruction>('RUN <<A cat > a && <<B cat > b\n1\nA\n2\nB')), {
    args: ['<<A cat > a && <<B cat > b\n1\nA\n2\nB'], prependShell: true,
  });
});

test('CMD and ENTRYPOINT', () => {
  assert.deepEqual(one('CMD ["a", "b c"]'), { kind: 'CMD', line: 2, endLine: 2, original: 'CMD ["a", "b c"]', flags: [], json: true, args: ['a', 'b c'] });
  assert.deepEqual(one('CMD echo "$HOME"'), { kind: 'CMD', line: 2, endLine: 2, original: 'CMD echo "$HOME"', flags: [], json: false, args: ['echo "$HOME"'] });
  assert.deepEqual(one('ENTRYPOINT []'), { kind: 'ENTRYPOINT', line: 2, endLine: 2, original: 'ENTRYPOINT []', flags: [], json: true, args: [] });
  assert.deepEqual(one('CMD'), { kind: 'CMD', line: 2, endLine: 2, original: 'CMD', flags: [], json: false, args: [] });
  rejectsLine2('CMD --doit ["a", "b"]', 'unknown flag: --doit');
  assert.deepEqual(one('CMD -- ["a", "b"]'), { kind: 'CMD', line: 2, endLine: 2, original: 'CMD -- ["a", "b"]', flags: [], json: true, args: ['a', 'b'] });
});

test('ENV and LABEL: both forms, quotes kept for expansion, errors', () => {
  const pairs = (s: string) => one<EnvInstruction>(s).pairs.map((p) => [p.key, p.value, p.legacy]);
  assert.deepEqual(pairs('ENV name value with  spaces'), [['name', 'value with  spaces', true]]);
  assert.deepEqual(pairs('ENV name=value'), [['name', 'value', false]]);
  assert.deepEqual(pairs('ENV name=value name2=value2'), [['name', 'value', false], ['name2', 'value2', false]]);
  assert.deepEqual(pairs('ENV name="value value1"'), [['name', '"value value1"', false]]);
  assert.deepEqual(pairs('ENV name=value\\ value2'), [['name', 'value\\ value2', false]]);
  assert.deepEqual(pairs("ENV name='value\"double quote\"value2'"), [['name', "'value\"double quote\"value2'", false]]);
  assert.deepEqual(pairs('ENV name="a\\"b"'), [['name', '"a\\"b"', false]]);
  assert.deepEqual(pairs('ENV name=""'), [['name', '""', false]]);
  assert.deepEqual(pairs('ENV name='), [['name', '', false]]);
  assert.deepEqual(pairs('ENV a b=c'), [['a', 'b=c', true]]);
  assert.deepEqual(pairs('ENV name=value \\\n    name1=value1 \\\n    name2="value2a \\\n           value2b"'),
    [['name', 'value', false], ['name1', 'value1', false], ['name2', '"value2a            value2b"', false]]);
  rejectsScan('FROM x\nENV onlykey', 'ENV must have two arguments', 2);
  rejectsScan('FROM x\nLABEL onlykey', 'LABEL must have two arguments');
  rejectsScan('FROM x\nENV a=1 b', 'Syntax error - can\'t find = in "b". Must be of the form: name=value');
  rejectsLine2('ENV', 'ENV requires at least one argument');
  rejectsLine2('LABEL', 'LABEL requires at least one argument');
  rejectsLine2('ENV =x', 'ENV names can not be blank');
  rejectsLine2('ENV --x=1 a=b', 'unknown flag: --x');
  assert.deepEqual(one('LABEL "com.example.vendor"="ACME Inc" version=1.0'), {
    kind: 'LABEL', line: 2, endLine: 2, original: 'LABEL "com.example.vendor"="ACME Inc" version=1.0', flags: [],
    pairs: [{ key: '"com.example.vendor"', value: '"ACME Inc"', legacy: false }, { key: 'version', value: '1.0', legacy: false }],
  });
});

test('ARG, EXPOSE, WORKDIR, USER, STOPSIGNAL, VOLUME, MAINTAINER', () => {
  assert.deepEqual(one<ArgInstruction>('ARG a b=2 c= d="x y"').args, [{ key: 'a' }, { key: 'b', value: '2' }, { key: 'c', value: '' }, { key: 'd', value: '"x y"' }]);
  rejectsLine2('ARG', 'ARG requires at least one argument');
  rejectsLine2('ARG =x', 'ARG names can not be blank');
  rejectsLine2('EXPOSE', 'EXPOSE requires at least one argument');
  assert.deepEqual(one('WORKDIR /path with spaces'), { kind: 'WORKDIR', line: 2, endLine: 2, original: 'WORKDIR /path with spaces', flags: [], path: '/path with spaces' });
  rejectsLine2('WORKDIR', 'WORKDIR requires exactly one argument');
  rejectsLine2('USER', 'USER requires exactly one argument');
  rejectsLine2('STOPSIGNAL', 'STOPSIGNAL requires exactly one argument');
  rejectsLine2('MAINTAINER', 'MAINTAINER requires exactly one argument');
  rejectsLine2('USER --x=1 root', 'unknown flag: --x');
  assert.deepEqual(one('VOLUME /a  /b'), { kind: 'VOLUME', line: 2, endLine: 2, original: 'VOLUME /a  /b', flags: [], json: false, volumes: ['/a', '/b'] });
  assert.deepEqual(one('VOLUME ["/with space"]'), { kind: 'VOLUME', line: 2, endLine: 2, original: 'VOLUME ["/with space"]', flags: [], json: true, volumes: ['/with space'] });
  rejectsLine2('VOLUME', 'VOLUME requires at least one argument');
  rejectsLine2('VOLUME [" "]', 'VOLUME specified can not be an empty string');
});

test('COPY and ADD: flags, JSON form, sources and destination', () => {
  const copy = one<CopyInstruction>('COPY --exclude=*.md --exclude=tmp --parents --link=false --chmod=0755 ["a b", "c", "/dst dir/"]');
  assert.deepEqual([copy.sources, copy.dest, copy.json, copy.exclude, copy.parents, copy.link, copy.chmod], [['a b', 'c'], '/dst dir/', true, ['*.md', 'tmp'], true, false, '0755']);
  assert.deepEqual(one<CopyInstruction>('COPY --from=0 /out /').from, '0');
  assert.deepEqual(one<CopyInstruction>('COPY --chown="user:group" a b').chown, 'user:group');
  const add = one<AddInstruction>('ADD --keep-git-dir=true --unpack=false --link https://github.com/x/y.git /src');
  assert.deepEqual([add.keepGitDir, add.unpack, add.link, add.checksum], [true, false, true, undefined]);
  const plain = one<AddInstruction>('ADD a.tar.gz /x');
  assert.deepEqual(['keepGitDir' in plain, 'unpack' in plain, 'chown' in plain], [false, false, false]);
  rejectsLine2('COPY onlyone', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined');
  rejectsLine2('ADD onlyone', 'ADD requires at least two arguments, but only one was provided. Destination could not be determined');
  rejectsLine2('COPY --link=maybe a b', 'expecting boolean value for flag --link, not: maybe');
  rejectsLine2('COPY --link= a b', 'missing a value on flag: --link');
  rejectsLine2('COPY --from a b', 'missing a value on flag: --from');
  rejectsLine2('COPY --from=a --from=b a b', 'duplicate flag specified: --from');
  rejectsLine2('COPY --chwon=1 a b', 'unknown flag: --chwon (did you mean chown?)');
  rejectsLine2('ADD --from=x a b', 'unknown flag: --from');
  rejectsLine2('COPY --from=$STAGE a b', 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
  rejectsScan('FROM x\nCOPY ["a", 2]', 'when using JSON array syntax, arrays must be comprised of strings only');
});

test('HEALTHCHECK', () => {
  const hc = (s: string) => one<HealthcheckInstruction>(s).health;
  assert.deepEqual(hc('HEALTHCHECK NONE'), { Test: ['NONE'] });
  assert.deepEqual(hc('healthcheck none'), { Test: ['NONE'] });
  assert.deepEqual(hc('HEALTHCHECK CMD ["/check", "-q"]'), { Test: ['CMD', '/check', '-q'] });
  assert.deepEqual(hc('HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=0 cmd curl -f x'), {
    Test: ['CMD-SHELL', 'curl -f x'], Interval: 300e9, Timeout: 3e9, StartPeriod: 90e9, StartInterval: 500e6,
  });
  assert.deepEqual(hc('HEALTHCHECK --interval=0s CMD true'), { Test: ['CMD-SHELL', 'true'] });
  rejectsLine2('HEALTHCHECK', 'HEALTHCHECK requires at least one argument');
  rejectsLine2('HEALTHCHECK NONE extra', 'HEALTHCHECK NONE takes no arguments');
  rejectsLine2('HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD');
  rejectsLine2('HEALTHCHECK CMD []', 'Missing command after HEALTHCHECK CMD');
  rejectsLine2('HEALTHCHECK BOGUS x', 'Unknown type "BOGUS" in HEALTHCHECK (try CMD)');
  rejectsLine2('HEALTHCHECK --interval=5 CMD x', 'time: missing unit in duration "5"');
  rejectsLine2('HEALTHCHECK --timeout=1x CMD x', 'time: unknown unit "x" in duration "1x"');
  rejectsLine2('HEALTHCHECK --timeout=abc CMD x', 'time: invalid duration "abc"');
  rejectsLine2('HEALTHCHECK --interval=10us CMD x', 'Interval "interval" cannot be less than 1ms');
  rejectsLine2('HEALTHCHECK --retries=-1 CMD x', '--retries cannot be negative (-1)');
  rejectsLine2('HEALTHCHECK --retries=many CMD x', 'strconv.ParseInt: parsing "many": invalid syntax');
  rejectsLine2('HEALTHCHECK --retries=99999999999 CMD x', 'strconv.ParseInt: parsing "99999999999": value out of range');
  rejectsLine2('HEALTHCHECK --intervall=1s CMD x', 'unknown flag: --intervall (did you mean interval?)');
});

test('SHELL, ONBUILD', () => {
  rejectsLine2('SHELL /bin/bash -c', 'SHELL requires the arguments to be in JSON form');
  rejectsLine2('SHELL []', 'SHELL requires at least one argument');
  rejectsLine2('SHELL', 'SHELL requires at least one argument');
  const ob = one<OnbuildInstruction>('onbuild  copy --chown=1 . /app');
  assert.deepEqual([ob.trigger, ob.expression], ['COPY', 'copy --chown=1 . /app']);
  const withDoc = one<OnbuildInstruction>('ONBUILD RUN <<EOF\necho hi\nEOF');
  assert.deepEqual([withDoc.expression, withDoc.endLine], ['RUN <<EOF\necho hi\nEOF', 4]);
  rejectsLine2('ONBUILD', 'ONBUILD requires at least one argument');
  rejectsLine2('ONBUILD ONBUILD RUN x', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  rejectsLine2('ONBUILD FROM x', 'FROM isn\'t allowed as an ONBUILD trigger');
  rejectsLine2('ONBUILD maintainer me', 'MAINTAINER isn\'t allowed as an ONBUILD trigger');
  rejectsLine2('ONBUILD --x RUN y', 'unknown flag: --x');
  rejectsScan('FROM x\nONBUILD ENV onlykey', 'ENV must have two arguments');
});

test('parseTriggers: ONBUILD triggers of a base image', () => {
  const ins = parseTriggers(['COPY . /app', 'RUN <<EOF\necho hi\nEOF', 'ENV A=1']);
  assert.deepEqual(ins.map((i) => i.kind), ['COPY', 'RUN', 'ENV']);
  assert.deepEqual((ins[1] as RunInstruction).heredocs[0].content, 'echo hi\n');
  const fails = (t: string, msg: string) => assert.throws(() => parseTriggers([t]), (e: unknown) => (e as Error).message === msg, t);
  fails('FROM x', 'failed to process ONBUILD trigger "FROM x": FROM isn\'t allowed as an ONBUILD trigger');
  fails('ONBUILD RUN x', 'failed to process ONBUILD trigger "ONBUILD RUN x": Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  fails('RUN a\nRUN b', 'failed to process ONBUILD trigger "RUN a\\nRUN b": onbuild trigger should be a single expression, got 2');
  fails('BOGUSTHING x', 'failed to process ONBUILD trigger "BOGUSTHING x": unknown instruction: BOGUSTHING');
});

test('line continuations, comments and empty continuation lines', () => {
  const args = (text: string) => body(text).map((i) => (i as RunInstruction).args[0]);
  // the escape character and trailing blanks go; continuation lines keep their indentation
  assert.deepEqual(args('RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning'), ['echo hello  world  goodnight    moon  lightning']);
  assert.deepEqual(args('RUN echo hello  \\  \nworld'), ['echo hello  world']);
  assert.deepEqual(args('RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight'), ['echo hi   world  goodnight']);
  // comment lines inside an instruction are dropped, empty lines continue it (with a warning)
  const df = parse('FROM x\nRUN echo hello \\\n# this is a comment\n\n# another\n\nthis is more\nRUN next');
  assert.deepEqual(df.stages[0].instructions.map((i) => [(i as RunInstruction).args[0], i.line, i.endLine]), [['echo hello this is more', 2, 7], ['next', 8, 8]]);
  assert.deepEqual(df.warnings, [{ line: 7, message: 'Empty continuation line found in: RUN echo hello this is more' }]);
  assert.deepEqual(args('RUN foo \\\n\nbar \\\n\nbaz'), ['foo bar baz']);
  // an escaped escape at the end is not a continuation
  assert.deepEqual(args('RUN echo \\\\\nRUN next'), ['echo \\\\', 'next']);
  // a continuation at the end of the file ends the instruction
  assert.deepEqual(args('RUN echo end \\'), ['echo end']);
  // escapes elsewhere stay for later passes
  assert.deepEqual(args('RUN apt-get \\update && \\\n  apt-get \\"install znc -y'), ['apt-get \\update &&   apt-get \\"install znc -y']);
});

test('parser directives: escape, syntax, check; only at the very top', () => {
  const bt = parse('# escape=`\nFROM x\nRUN dir c:\\\nRUN echo a `\n  b\nCOPY testfile.txt c:\\');
  assert.equal(bt.escape, '`');
  assert.deepEqual(bt.directives, { escape: '`' });
  assert.deepEqual(bt.stages[0].instructions.map((i) => i.kind === 'COPY' ? i.dest : (i as RunInstruction).args[0]), ['dir c:\\', 'echo a   b', 'c:\\']);
  // with the default escape, `\` at the end joins COPY and RUN (the Windows pitfall from the reference)
  const joined = parse('FROM x\nCOPY testfile.txt c:\\\\\nRUN dir c:\\\n');
  assert.equal(joined.stages[0].instructions.length, 2);
  assert.deepEqual(parse('#  SyNtAx = docker/dockerfile:1.7 \n#\tescape= \\\n#check=skip=all\nFROM x').directives,
    { syntax: 'docker/dockerfile:1.7', escape: '\\', check: 'skip=all' });
  // a BOM before the first directive is fine
  assert.deepEqual(parse('\ufeff# syntax=a/b\nFROM x').directives, { syntax: 'a/b' });
  // after a comment, an empty line, an unknown directive or an instruction: just comments
  assert.equal(parse('# About my dockerfile\n# escape=`\nFROM x\nRUN a \\\nb').escape, '\\');
  assert.deepEqual(parse('\n# escape=`\nFROM x').directives, {});
  assert.deepEqual(parse('# unknowndirective=value\n# syntax=value\nFROM x').directives, {});
  assert.deepEqual(parse('FROM x\n# escape=`\nRUN a').directives, {});
  rejectsScan('# escape=`\n# escape=\\\nFROM x', 'only one escape parser directive can be used', 2);
  rejectsScan('# syntax=a\n# SYNTAX=b\nFROM x', 'only one syntax parser directive can be used', 2);
  rejectsScan('# escape=x\nFROM x', 'invalid escape token \'x\' does not match ` or \\', 1);
});

test('flags are unquoted and unescaped; JSON-looking shell text stays as written', () => {
  assert.deepEqual(one<CopyInstruction>('COPY --chown="a b" --chmod=\'7\'\\55 x y').flags, ['--chown=a b', '--chmod=755']);
  assert.deepEqual(one<CopyInstruction>('COPY --chown=ü:ö x y').chown, 'ü:ö');
  const bt = parse('# escape=`\nFROM x\nCOPY --chown=a`:b x y').stages[0].instructions[0] as CopyInstruction;
  assert.equal(bt.chown, 'a:b');
});
