import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BuildArgs, platformArgs } from '../../src/build/args';
import {
  ArgInstruction, CopyInstruction, DockerfileError, Instruction, RunInstruction, parseDockerfile,
} from '../../src/build/dockerfile';
import { expand, expandFrom, expandInstruction, expandToWords } from '../../src/build/expand';
import { EngineError } from '../../src/common/errors';
import { splitWords } from '../../src/common/shell-words';
import * as legacy from '../../src/storage/shell-words';

const env = new Map([['str', 'foobarbaz'], ['E', ''], ['X', 'v'], ['P', 'a b  c'], ['path', '/usr/local/bin']]);
const x = (w: string) => expand(w, env);

function fails(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EngineError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.message, message);
    return true;
  }, message);
}

test('expand: $VAR, ${VAR}, quotes and escapes', () => {
  assert.equal(x('$X ${X} ${X}y $Xy'), 'v v vy ');
  assert.equal(x('$NOPE|${NOPE}'), '|');
  assert.equal(x('"$X" \'$X\''), 'v $X'); // single quotes are literal
  assert.equal(x('\\$X \\${X}'), '$X ${X}');
  assert.equal(x('a\\ b "a\\"b" "a\\qb" \'a\\\'b'), 'a b a"b a\\qb a\\b');
  assert.equal(x('$ $1 $$ x$'), '$   x$'); // a lone $ stays; positional and special parameters are never set
  assert.equal(x('tail\\'), 'tail'); // a trailing escape disappears
  // the escape character can be the backtick (then a backslash is an ordinary character)
  assert.equal(expand('`$X C:\\dir "a`"b"', env, '`'), '$X C:\\dir a"b');
  fails(() => x('"open'), 'failed to process "\\"open": unexpected end of statement while looking for matching double-quote');
  fails(() => x("'open"), 'failed to process "\'open": unexpected end of statement while looking for matching single-quote');
});

test('expand: the ${VAR<op>word} forms', () => {
  const cases: Array<[string, string]> = [
    ['${X:-d}', 'v'], ['${E:-d}', 'd'], ['${U:-d}', 'd'],
    ['${X-d}', 'v'], ['${E-d}', ''], ['${U-d}', 'd'],
    ['${X:+a}', 'a'], ['${E:+a}', ''], ['${U:+a}', ''],
    ['${X+a}', 'a'], ['${E+a}', 'a'], ['${U+a}', ''],
    ['${X:?}', 'v'], ['${E?x}', ''],
    ['${U:-${X}-$X}', 'v-v'], ['${U:-${U2:-deep}}', 'deep'], ['${U:-"a b"}', 'a b'], ["${U:-'$X'}", '$X'],
    ['${U:-a\\}b}', 'a}b'],
  ];
  for (const [w, want] of cases) assert.equal(x(w), want, w);
  fails(() => x('${U:?}'), 'failed to process "${U:?}": U: is not allowed to be unset');
  fails(() => x('${U?}'), 'failed to process "${U?}": U: is not allowed to be unset');
  fails(() => x('${E:?}'), 'failed to process "${E:?}": E: is not allowed to be empty');
  fails(() => x('${U:?must be set}'), 'failed to process "${U:?must be set}": U: must be set');
  fails(() => x('${}'), 'failed to process "${}": syntax error: bad substitution');
  fails(() => x('${:-x}'), 'failed to process "${:-x}": syntax error: bad substitution');
  fails(() => x('${X'), 'failed to process "${X": syntax error: missing \'}\'');
  fails(() => x('${X:-abc'), 'failed to process "${X:-abc": syntax error: missing \'}\'');
  fails(() => x('${X!}'), 'failed to process "${X!}": unsupported modifier (!) in substitution');
  fails(() => x('${X:x}'), 'failed to process "${X:x}": unsupported modifier (:x) in substitution');
});

test('expand: pattern removal and replacement', () => {
  const cases: Array<[string, string]> = [
    ['${str#f*b}', 'arbaz'], ['${str##f*b}', 'az'], ['${str%b*}', 'foobar'], ['${str%%b*}', 'foo'],
    ['${str/ba/fo}', 'fooforbaz'], ['${str//ba/fo}', 'fooforfoz'], ['${str/?o/X}', 'Xobarbaz'],
    ['${path##*/}', 'bin'], ['${path%/*}', '/usr/local'], ['${str#\\*}', 'foobarbaz'], ['${str#nomatch}', 'foobarbaz'],
    ['${U#x}', ''], ['${str/o/$X}', 'fvobarbaz'], ['${str//[o]/x}', 'foobarbaz'], ['${str/$/x}', 'foobarbaz'],
  ];
  for (const [w, want] of cases) assert.equal(x(w), want, w);
  fails(() => x('${str#\\a}'), 'failed to process "${str#\\\\a}": invalid pattern (\\a) in substitution: invalid escape \'\\a\'');
  fails(() => x('${str:#a}'), 'failed to process "${str:#a}": unsupported modifier (:#) in substitution');
  fails(() => x('${str/a}'), 'failed to process "${str/a}": syntax error: missing \'/\' in ${}');
});

test('expandToWords: split after substitution, quotes keep words together', () => {
  assert.deepEqual(expandToWords('$P', env), ['a', 'b', 'c']);
  assert.deepEqual(expandToWords('"$P"', env), ['a b  c']);
  assert.deepEqual(expandToWords('x${P}y 80', env), ['xa', 'b', 'cy', '80']);
  assert.deepEqual(expandToWords('$NOPE', env), []);
  // a nested ${…} does not lose what came before it (buildkit's splitter does); like buildkit, quotes inside a
  // default do not keep its words together
  assert.deepEqual(expandToWords('a${U:-b}c ${U:-"d e"}', env), ['abc', 'd', 'e']);
});

test('the shared word splitter keeps its old home and learns the escape character', () => {
  assert.equal(legacy.expandWord('"$X" \'$X\'', env), 'v $X');
  assert.deepEqual(legacy.splitWords('a "b c"'), ['a', '"b c"']);
  assert.deepEqual(splitWords('a`  b "c` d"', '`'), ['a` ', 'b', '"c` d"']);
});

const stage = (text: string) => parseDockerfile(`FROM scratch\n${text}`).stages[0].instructions;
const ex = <T extends Instruction>(text: string, vars: Map<string, string> = env): T => expandInstruction(stage(text)[0] as T, vars);

test('expandInstruction: what each instruction expands', () => {
  const envIns = ex<Instruction>('ENV A=$X B="${X} w" $X=key');
  assert.deepEqual(envIns.kind === 'ENV' && envIns.pairs.map((p) => [p.key, p.value]), [['A', 'v'], ['B', 'v w'], ['v', 'key']]);
  const legacyEnv = ex<Instruction>('ENV A the "$X" value');
  assert.deepEqual(legacyEnv.kind === 'ENV' && legacyEnv.pairs.map((p) => [p.key, p.value]), [['A', 'the v value']]);
  const label = ex<Instruction>('LABEL "a.$X"="$P"');
  assert.deepEqual(label.kind === 'LABEL' && label.pairs.map((p) => [p.key, p.value]), [['a.v', 'a b  c']]);
  const copy = ex<CopyInstruction>('COPY --chown=$X:$X --chmod=${M:-644} --from=build src/$X.txt ${U:-/dst}/');
  assert.deepEqual([copy.chown, copy.chmod, copy.from, copy.sources, copy.dest], ['v:v', '644', 'build', ['src/v.txt'], '/dst/']);
  const expose = ex<Instruction>('EXPOSE $P 80/tcp');
  assert.deepEqual(expose.kind === 'EXPOSE' && expose.ports, ['a', 'b', 'c', '80/tcp']);
  const wd = ex<Instruction>('WORKDIR /app/$X');
  assert.equal(wd.kind === 'WORKDIR' && wd.path, '/app/v');
  const user = ex<Instruction>('USER ${X}:$X');
  assert.equal(user.kind === 'USER' && user.user, 'v:v');
  const vol = ex<Instruction>('VOLUME ["/data/$X", "$E/x"]');
  assert.deepEqual(vol.kind === 'VOLUME' && vol.volumes, ['/data/v', '/x']);
  const sig = ex<Instruction>('STOPSIGNAL SIG$X');
  assert.equal(sig.kind === 'STOPSIGNAL' && sig.signal, 'SIGv');
  // shell-executed instructions and ONBUILD are left to the shell / the downstream build
  const run = ex<RunInstruction>('RUN --mount=type=cache,target=/c/$X echo $X');
  assert.deepEqual([run.args, run.mountSpecs, run.mounts], [['echo $X'], ['type=cache,target=/c/$X'],
    [{ type: 'cache', readonly: false, required: false, target: '/c/v' }]]);
  const cmd = ex<Instruction>('CMD echo $X');
  assert.deepEqual(cmd.kind === 'CMD' && cmd.args, ['echo $X']);
  const onb = ex<Instruction>('ONBUILD RUN echo $X');
  assert.equal(onb.kind === 'ONBUILD' && onb.expression, 'RUN echo $X');
  const arg = stage('ARG A=$X')[0] as ArgInstruction;
  assert.deepEqual(expandInstruction(arg, env), arg);
  // the input is left alone
  const original = stage('WORKDIR /app/$X')[0];
  expandInstruction(original, env);
  assert.equal(original.kind === 'WORKDIR' && original.path, '/app/$X');
});

test('expandInstruction: heredoc sources expand unless the delimiter is quoted', () => {
  const c = ex<CopyInstruction>('COPY <<A <<"B" /dst/\necho "$X" \'$X\' \\$X\nA\nraw $X\nB', new Map([['X', 'v']]));
  assert.deepEqual(c.inline, [{ name: 'A', data: 'echo "v" \'v\' $X\n', expand: true }, { name: 'B', data: 'raw $X\n', expand: false }]);
});

test('expandInstruction: errors carry the instruction\'s place', () => {
  const ins = parseDockerfile('FROM x\n\nWORKDIR ${DIR:?is required}').stages[0].instructions[0];
  assert.throws(() => expandInstruction(ins, new Map(), { file: 'Dockerfile.dev' }), (err: unknown) => {
    assert.ok(err instanceof DockerfileError);
    assert.equal(err.message, 'failed to process "${DIR:?is required}": DIR: is required');
    assert.equal(err.where, 'Dockerfile.dev:3');
    return true;
  });
  const mount = stage('RUN --mount=type=$T,target=/x true')[0];
  assert.throws(() => expandInstruction(mount, new Map([['T', 'volume']])), /unsupported mount type "volume"/);
});

test('expandFrom: global ARGs only, blank names and platforms', () => {
  const df = parseDockerfile('ARG TAG=3\nARG REG\nFROM ${REG:-docker.io}/alpine:$TAG AS a\nFROM --platform=$BUILDPLATFORM $EMPTY\nFROM --platform=$NONE x');
  const global = new Map([['TAG', '3'], ['BUILDPLATFORM', 'linux/amd64']]);
  assert.deepEqual(expandFrom(df.stages[0], global), { image: 'docker.io/alpine:3' });
  assert.throws(() => expandFrom(df.stages[1], global), (err: unknown) => {
    assert.ok(err instanceof DockerfileError);
    assert.equal(err.message, 'base name ($EMPTY) should not be blank');
    assert.equal(err.line, 4);
    return true;
  });
  assert.throws(() => expandFrom(df.stages[2], global), /empty platform value from expression \$NONE/);
  const plat = parseDockerfile('FROM --platform=$BUILDPLATFORM x').stages[0];
  assert.deepEqual(expandFrom(plat, global), { image: 'x', platform: 'linux/amd64' });
});

test('BuildArgs: the global scope, what FROM sees', () => {
  const df = parseDockerfile('ARG REG=docker.io\nARG IMG=$REG/alpine\nARG TAG\nARG UNSET\nFROM $IMG:${TAG:-latest}');
  const args = new BuildArgs({ buildArgs: { TAG: '3.19', NOBODY: 'x', HTTP_PROXY: 'http://proxy:3128', NULLED: null } });
  const global = args.processGlobal(df.globalArgs);
  assert.deepEqual([...global], [['REG', 'docker.io'], ['IMG', 'docker.io/alpine'], ['TAG', '3.19']]);
  assert.deepEqual(expandFrom(df.stages[0], global), { image: 'docker.io/alpine:3.19' });
  // --build-arg overrides a default, and the default of a later ARG sees it
  const over = new BuildArgs({ buildArgs: { REG: 'ghcr.io' } });
  assert.equal(over.processGlobal(df.globalArgs).get('IMG'), 'ghcr.io/alpine');
  assert.deepEqual(args.unconsumed(), ['NOBODY', 'NULLED']);
  assert.equal(args.unconsumedWarning(), '[Warning] One or more build-args [NOBODY NULLED] were not consumed');
  assert.equal(new BuildArgs({ buildArgs: { REG: 'x' } }).unconsumedWarning(), '[Warning] One or more build-args [REG] were not consumed');
  assert.equal(over.unconsumedWarning(), undefined);
});

test('BuildArgs: automatic platform args, overridable', () => {
  const p = platformArgs({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'final');
  assert.deepEqual(p, {
    BUILDPLATFORM: 'linux/amd64', BUILDOS: 'linux', BUILDARCH: 'amd64', BUILDVARIANT: '',
    TARGETPLATFORM: 'linux/arm/v7', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7', TARGETSTAGE: 'final',
  });
  assert.equal(platformArgs({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' }).TARGETSTAGE, 'default');
  const args = new BuildArgs({ predefined: p, buildArgs: { TARGETARCH: 'riscv64' } });
  const global = args.processGlobal([]);
  assert.equal(global.get('TARGETARCH'), 'riscv64');
  assert.equal(global.get('BUILDPLATFORM'), 'linux/amd64');
  // a stage sees them only after declaring them
  const st = args.stage();
  assert.equal(st.expansionEnv().get('TARGETOS'), undefined);
  st.declare(parseDockerfile('FROM x\nARG TARGETOS TARGETARCH').stages[0].instructions[0] as ArgInstruction);
  assert.deepEqual([...st.values], [['TARGETOS', 'linux'], ['TARGETARCH', 'riscv64']]);
  assert.deepEqual(args.unconsumed(), []);
});

test('StageArgs: declaring, defaults in order, inheriting the global value, ENV wins', () => {
  const df = parseDockerfile([
    'ARG VERSION=1.0',
    'ARG GLOBAL_ONLY=g',
    'FROM x',
    'ARG VERSION',
    'ARG A=1 B=$A-${VERSION} C',
    'ARG FROM_CLI=default',
    'ARG PATHLIKE=$HOME/bin',
  ].join('\n'));
  const args = new BuildArgs({ buildArgs: { FROM_CLI: 'cli', https_proxy: 'http://p' } });
  args.processGlobal(df.globalArgs);
  const st = args.stage();
  const [argV, argABC, argCli, argPath] = df.stages[0].instructions as ArgInstruction[];
  assert.deepEqual(st.declare(argV), [{ key: 'VERSION', value: '1.0' }]); // inherits the global value
  assert.deepEqual(st.declare(argABC), [{ key: 'A', value: '1' }, { key: 'B', value: '1-1.0' }, { key: 'C' }]);
  assert.deepEqual(st.declare(argCli), [{ key: 'FROM_CLI', value: 'cli' }]);
  // defaults see the stage's ENV; ENV wins over an ARG of the same name
  assert.deepEqual(st.declare(argPath, ['HOME=/root', 'A=from-env']), [{ key: 'PATHLIKE', value: '/root/bin' }]);
  const exp = st.expansionEnv(['A=from-env']);
  assert.equal(exp.get('A'), 'from-env');
  assert.equal(exp.get('B'), '1-1.0');
  assert.equal(exp.has('C'), false); // declared without a value: still unset
  assert.equal(exp.has('GLOBAL_ONLY'), false); // never declared in the stage
  assert.deepEqual(st.runEnv(['PATH=/bin', 'A=from-env']), [
    'PATH=/bin', 'A=from-env', 'VERSION=1.0', 'B=1-1.0', 'FROM_CLI=cli', 'PATHLIKE=/root/bin', 'https_proxy=http://p',
  ]);
  assert.ok([...st.declared].includes('C'));
  assert.equal(args.unconsumedWarning(), undefined); // proxies are never reported
  // errors in defaults name the ARG's line
  const bad = parseDockerfile('FROM x\nARG Z=${NOPE:?needed}').stages[0].instructions[0] as ArgInstruction;
  assert.throws(() => new BuildArgs().stage().declare(bad), (err: unknown) => err instanceof DockerfileError && err.line === 2 && err.message === 'failed to process "${NOPE:?needed}": NOPE: needed');
});
