import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EngineError } from '../../src/common/errors';
import { applyChanges, parseGoDuration } from '../../src/storage/changes';
import { expandWord, splitWords } from '../../src/storage/shell-words';

const apply = (...changes: string[]) => applyChanges({}, changes);

function rejects(changes: string[], message: string | RegExp): void {
  assert.throws(() => applyChanges({}, changes), (err: unknown) => {
    assert.ok(err instanceof EngineError, String(err));
    assert.equal(err.status, 400);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  }, changes.join(' | '));
}

test('CMD and ENTRYPOINT: exec and shell forms', () => {
  assert.deepEqual(apply('CMD ["sh"]').Cmd, ['sh']);
  assert.deepEqual(apply('CMD echo "hi there" && ls').Cmd, ['/bin/sh', '-c', 'echo "hi there" && ls']);
  assert.deepEqual(apply('cmd [ "a", "b c" ]').Cmd, ['a', 'b c']);
  assert.deepEqual(apply('CMD [not json').Cmd, ['/bin/sh', '-c', '[not json']);
  assert.deepEqual(apply('ENTRYPOINT ["/init"]', 'CMD ["x"]'), { Entrypoint: ['/init'], Cmd: ['x'] });
  assert.deepEqual(apply('CMD ["x"]', 'ENTRYPOINT ["/init"]'), { Cmd: ['x'], Entrypoint: ['/init'] });
  // an ENTRYPOINT resets an inherited CMD
  assert.deepEqual(applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT top']), { Cmd: null, Entrypoint: ['/bin/sh', '-c', 'top'] });
  rejects(['CMD ["a", 1]'], 'when using JSON array syntax, arrays must be comprised of strings only');
  rejects(['CMD --foo=bar x'], 'unknown flag: foo');
});

test('ENV: both forms, quoting, expansion against the env before the instruction', () => {
  assert.deepEqual(apply('ENV A=1 B="two words" C=\'$A\'').Env, ['A=1', 'B=two words', 'C=$A']);
  assert.deepEqual(apply('ENV GREETING hello   big world').Env, ['GREETING=hello   big world']);
  assert.deepEqual(apply('ENV A=1', 'ENV A=2 B=$A').Env, ['A=2', 'B=1']);
  assert.deepEqual(apply('ENV P=/bin', 'ENV P=/x:$P Q=${P}-${NOPE:-dflt}-${P:+set}').Env, ['P=/x:/bin', 'Q=/bin-dflt-set']);
  assert.deepEqual(apply('ENV E=a\\ b').Env, ['E=a b']);
  assert.deepEqual(applyChanges({ Env: ['PATH=/usr/bin'] }, ['ENV PATH=$PATH:/opt']).Env, ['PATH=/usr/bin:/opt']);
  rejects(['ENV'], 'ENV requires at least one argument');
  rejects(['ENV onlykey'], 'ENV must have two arguments');
  rejects(['ENV A=1 B'], 'Syntax error - can\'t find = in "B". Must be of the form: name=value');
  rejects(['ENV =x'], 'ENV names can not be blank');
  rejects(['ENV A="open'], 'unexpected end of statement while looking for matching double-quote');
});

test('LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ONBUILD', () => {
  assert.deepEqual(apply('LABEL a=1 "b c"="d e"', 'LABEL legacy value here').Labels, { a: '1', 'b c': 'd e', legacy: 'value here' });
  assert.deepEqual(apply('EXPOSE 80 53/udp 8000-8002/TCP').ExposedPorts,
    { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {}, '8002/tcp': {} });
  rejects(['EXPOSE 99999'], 'invalid containerPort: 99999');
  rejects(['EXPOSE 80/http'], 'invalid proto: http');
  assert.deepEqual(apply('VOLUME /data /logs', 'VOLUME ["/json path"]').Volumes, { '/data': {}, '/logs': {}, '/json path': {} });
  rejects(['VOLUME [""]'], 'VOLUME specified can not be an empty string');
  assert.equal(apply('USER nobody:nogroup').User, 'nobody:nogroup');
  rejects(['USER'], 'USER requires exactly one argument');
  assert.equal(apply('WORKDIR /srv', 'WORKDIR app', 'WORKDIR ../x/./y').WorkingDir, '/srv/x/y');
  assert.equal(apply('ENV D=/opt', 'WORKDIR $D/app').WorkingDir, '/opt/app');
  assert.equal(apply('STOPSIGNAL SIGINT').StopSignal, 'SIGINT');
  assert.equal(apply('STOPSIGNAL 9').StopSignal, '9');
  assert.equal(apply('STOPSIGNAL rtmin+3').StopSignal, 'rtmin+3');
  rejects(['STOPSIGNAL SIGNOPE'], 'Invalid signal: SIGNOPE');
  assert.deepEqual(apply('ONBUILD RUN echo "hi"', 'onbuild COPY . /app').OnBuild, ['RUN echo "hi"', 'COPY . /app']);
  rejects(['ONBUILD ONBUILD RUN x'], 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  rejects(['ONBUILD FROM x'], 'FROM isn\'t allowed as an ONBUILD trigger');
});

test('HEALTHCHECK', () => {
  assert.deepEqual(apply('HEALTHCHECK NONE').Healthcheck, { Test: ['NONE'] });
  assert.deepEqual(apply('HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD curl -f http://x/ || exit 1').Healthcheck, {
    Test: ['CMD-SHELL', 'curl -f http://x/ || exit 1'], Interval: 30e9, Timeout: 90e9, Retries: 3,
  });
  assert.deepEqual(apply('HEALTHCHECK --start-period=500ms CMD ["/check", "-q"]').Healthcheck, {
    Test: ['CMD', '/check', '-q'], StartPeriod: 500e6,
  });
  rejects(['HEALTHCHECK NONE x'], 'HEALTHCHECK NONE takes no arguments');
  rejects(['HEALTHCHECK BOGUS x'], 'Unknown type "BOGUS" in HEALTHCHECK (try CMD)');
  rejects(['HEALTHCHECK --interval=1us CMD x'], 'Interval "interval" cannot be less than 1ms');
  rejects(['HEALTHCHECK --bogus=1 CMD x'], 'unknown flag: bogus');
});

test('only metadata instructions; all are checked before any applies', () => {
  rejects(['CMD ["ok"]', 'RUN rm -rf /'], 'run is not a valid change command');
  rejects(['FROM scratch'], 'from is not a valid change command');
  // comments, blank lines and continuations as in a Dockerfile
  assert.deepEqual(apply('# comment', '', 'ENV A=1 \\', '  B=2'), { Env: ['A=1', 'B=2'] });
});

test('word splitting and expansion helpers', () => {
  assert.deepEqual(splitWords(`a "b c" 'd e'f g\\ h`), ['a', '"b c"', "'d e'f", 'g\\ h']);
  const env = new Map([['X', 'v']]);
  assert.equal(expandWord(`"$X" '$X' \\$X \${X}y $`, env), `v $X $X vy $`);
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.throws(() => parseGoDuration('5'), /missing unit in duration "5"/);
  assert.throws(() => parseGoDuration('1x'), /unknown unit "x" in duration "1x"/);
});
