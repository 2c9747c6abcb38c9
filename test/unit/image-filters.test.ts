// `images` filters, `image prune` selection and `history` rows, on hand-made image records (no store, no daemon).
import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { EngineError } from '../../src/common/errors';
import { chainIds } from '../../src/storage/digest';
import type { ImageRecord } from '../../src/storage/images';
import type { HistoryEntry } from '../../src/storage/image-config';
import {
  boolFilter, compileGlob, familiarMatch, listImages, matchKVList, parseTimestamp, pruneCandidates, validateFilters,
} from '../../src/storage/image-filters';
import { imageHistory } from '../../src/storage/image-history';
import { inspectForApiVersion, imageInspect } from '../../src/storage/image-views';

const id = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
const diff = (n: number) => `sha256:${String(n).padStart(64, 'd')}`;

function image(n: number, opts: { tags?: string[]; digests?: string[]; created?: string; labels?: Record<string, string>; parent?: string; layers?: number[]; history?: HistoryEntry[] } = {}): ImageRecord {
  const diffIds = (opts.layers ?? [n]).map(diff);
  return {
    id: id(n),
    repoTags: opts.tags ?? [],
    repoDigests: opts.digests ?? [],
    created: opts.created ?? `2024-01-0${n}T00:00:00Z`,
    config: {
      architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds },
      config: opts.labels ? { Labels: opts.labels } : {},
      history: opts.history,
    },
    size: 100 * n,
    chainIds: chainIds(diffIds),
    diffIds,
    ...(opts.parent ? { parent: opts.parent } : {}),
  };
}

const isError = (status: number, message: string | RegExp) => (err: unknown) => {
  assert.ok(err instanceof EngineError, String(err));
  assert.equal(err.status, status);
  if (typeof message === 'string') assert.equal(err.message, message); else assert.match(err.message, message);
  return true;
};

const images = [
  image(1, { tags: ['busybox:latest', 'busybox:1.36'], labels: { tier: 'base' } }),
  image(2, { tags: ['localhost:5000/team/app:v1'], digests: ['localhost:5000/team/app@sha256:' + 'a'.repeat(64)], labels: { tier: 'app', team: 'x' } }),
  image(3), // dangling
  image(4, { parent: id(5) }), // untagged child of 5
  image(5), // untagged parent: an intermediate image
  image(6, { tags: ['other:1'], created: '' }),
];
const ctx = {
  get(ref: string): ImageRecord {
    const found = images.find((i) => i.id === ref || i.repoTags.includes(ref) || i.repoTags.includes(`${ref}:latest`));
    if (!found) throw new EngineError(404, `No such image: ${ref}`);
    return found;
  },
  now: Date.parse('2024-01-10T00:00:00Z'),
};
const ids = (list: { Id: string }[]) => list.map((s) => Number(s.Id.slice(7)));

describe('filter helpers', () => {
  test('validation, booleans, key/value lists', () => {
    assert.throws(() => validateFilters({ foo: ['bar'] }, ['dangling']), isError(400, "invalid filter 'foo'"));
    assert.equal(boolFilter({}, 'dangling', true), true);
    assert.equal(boolFilter({ dangling: ['1'] }, 'dangling', false), true);
    assert.equal(boolFilter({ dangling: ['false'] }, 'dangling', true), false);
    assert.throws(() => boolFilter({ dangling: ['maybe'] }, 'dangling', false), isError(400, "invalid filter 'dangling=[maybe]'"));
    assert.throws(() => boolFilter({ dangling: ['true', 'false'] }, 'dangling', false), isError(400, "invalid filter 'dangling=[true false]'"));
    assert.equal(matchKVList(undefined, {}), true);
    assert.equal(matchKVList(['a'], {}), false);
    assert.equal(matchKVList(['a', 'b=2'], { a: 'x', b: '2' }), true);
    assert.equal(matchKVList(['b=3'], { b: '2' }), false);
    assert.equal(matchKVList(['a=b=c'], { a: 'b=c' }), true);
  });

  test("Go's path.Match and FamiliarMatch", () => {
    const m = (p: string, s: string) => compileGlob(p).test(s);
    assert.ok(m('busy*', 'busybox'));
    assert.ok(!m('*', 'a/b'));
    assert.ok(m('*/*', 'a/b'));
    assert.ok(m('b?sybox', 'busybox'));
    assert.ok(m('[a-c]usybox', 'busybox'));
    assert.ok(!m('[^b]usybox', 'busybox'));
    assert.ok(m('\\*x', '*x'));
    assert.ok(m('a.b', 'a.b') && !m('a.b', 'axb'));
    assert.ok(!m('[z-a]', 'q'), 'a reversed range matches nothing');
    for (const bad of ['[', '[]', 'a\\', '[a-', '[-a]']) assert.throws(() => compileGlob(bad), isError(400, 'syntax error in pattern'), bad);
    assert.ok(familiarMatch(compileGlob('busybox'), 'busybox:latest'), 'a name alone matches every tag');
    assert.ok(familiarMatch(compileGlob('busybox:1.*'), 'busybox:1.36'));
    assert.ok(!familiarMatch(compileGlob('busybox:2'), 'busybox:1.36'));
    assert.ok(familiarMatch(compileGlob('localhost:5000/*/app'), 'localhost:5000/team/app@sha256:' + 'a'.repeat(64)));
  });

  test('timestamps: durations, dates, unix seconds', () => {
    const now = Date.parse('2024-01-10T00:00:00Z');
    assert.equal(parseTimestamp('1h', now), now - 3600_000);
    assert.equal(parseTimestamp('1h30m', now), now - 5400_000);
    assert.equal(parseTimestamp('2024-01-02T03:04:05Z', now), Date.parse('2024-01-02T03:04:05Z'));
    assert.equal(parseTimestamp('2024-01-02T03:04:05+01:00', now), Date.parse('2024-01-02T02:04:05Z'));
    assert.equal(parseTimestamp('1700000000', now), 1_700_000_000_000);
    assert.equal(parseTimestamp('1700000000.5', now), 1_700_000_000_500);
    assert.throws(() => parseTimestamp('xx', now), isError(400, 'failed to parse value as time or duration: "xx"'));
  });
});

describe('listing', () => {
  test('default: newest first, intermediate images hidden; -a shows them', () => {
    assert.deepEqual(ids(listImages(images, {}, ctx)), [4, 3, 2, 1, 6]);
    assert.deepEqual(ids(listImages(images, { all: true }, ctx)), [5, 4, 3, 2, 1, 6]);
  });

  test('dangling', () => {
    assert.deepEqual(ids(listImages(images, { filters: { dangling: ['true'] } }, ctx)), [4, 3]);
    assert.deepEqual(ids(listImages(images, { filters: { dangling: ['false'] } }, ctx)), [2, 1, 6]);
  });

  test('reference narrows RepoTags/RepoDigests to the matching ones', () => {
    const r = listImages(images, { filters: { reference: ['busybox:1.*'] } }, ctx);
    assert.deepEqual(ids(r), [1]);
    assert.deepEqual(r[0].RepoTags, ['busybox:1.36']);
    assert.deepEqual(ids(listImages(images, { filters: { reference: ['busybox'] } }, ctx)), [1]);
    const app = listImages(images, { filters: { reference: ['localhost:5000/*/app'] } }, ctx);
    assert.deepEqual([app[0].RepoTags.length, app[0].RepoDigests.length], [1, 1]);
    assert.deepEqual(ids(listImages(images, { filters: { reference: ['nothing', 'other'] } }, ctx)), [6]);
    assert.throws(() => listImages(images, { filters: { reference: ['['] } }, ctx), isError(400, 'syntax error in pattern'));
  });

  test('label, before, since, until', () => {
    assert.deepEqual(ids(listImages(images, { filters: { label: ['tier'] } }, ctx)), [2, 1]);
    assert.deepEqual(ids(listImages(images, { filters: { label: ['tier=app', 'team'] } }, ctx)), [2]);
    assert.deepEqual(ids(listImages(images, { filters: { before: ['localhost:5000/team/app:v1'] } }, ctx)), [1]);
    assert.deepEqual(ids(listImages(images, { filters: { since: ['busybox'] } }, ctx)), [4, 3, 2]);
    assert.deepEqual(ids(listImages(images, { filters: { until: ['2024-01-03T00:00:00Z'] } }, ctx)), [2, 1]);
    assert.throws(() => listImages(images, { filters: { before: ['nosuch'] } }, ctx), isError(404, 'No such image: nosuch'));
    assert.throws(() => listImages(images, { filters: { bogus: ['1'] } }, ctx), isError(400, "invalid filter 'bogus'"));
  });

  test('containers and shared sizes when asked (system df)', () => {
    const r = listImages(images, {}, { ...ctx, containers: (i) => (i === id(1) ? 2 : 0), sharedSize: (i) => i.size / 2 });
    const one = r.find((s) => s.Id === id(1))!;
    assert.deepEqual([one.Containers, one.SharedSize], [2, 50]);
    assert.deepEqual([listImages(images, {}, ctx)[0].Containers, listImages(images, {}, ctx)[0].SharedSize], [-1, -1]);
  });
});

describe('prune selection', () => {
  test('dangling by default; -a every unused image, by each of its names', () => {
    assert.deepEqual(pruneCandidates(images, { dangling: ['true'] }), [
      { id: id(3), names: ['0'.repeat(63) + '3'] },
      { id: id(4), names: ['0'.repeat(63) + '4'] },
    ]);
    const all = pruneCandidates(images, { dangling: ['false'] });
    assert.deepEqual(all.map((c) => Number(c.id.slice(7))), [1, 2, 3, 4, 6]);
    assert.deepEqual(all[0].names, ['busybox:latest', 'busybox:1.36']);
    assert.deepEqual(all[1].names, ['localhost:5000/team/app:v1', 'localhost:5000/team/app@sha256:' + 'a'.repeat(64)]);
  });

  test('until, label, label!', () => {
    const now = Date.parse('2024-01-10T00:00:00Z');
    assert.deepEqual(pruneCandidates(images, { dangling: ['false'], until: ['2024-01-02T12:00:00Z'] }, now).map((c) => c.id), [id(1), id(2)]);
    assert.deepEqual(pruneCandidates(images, { dangling: ['false'], label: ['tier'] }).map((c) => c.id), [id(1), id(2)]);
    assert.deepEqual(pruneCandidates(images, { dangling: ['false'], 'label!': ['tier=app'] }).map((c) => c.id), [id(1), id(3), id(4), id(6)]);
    assert.throws(() => pruneCandidates(images, { until: ['1h', '2h'] }), isError(400, 'more than one until filter specified'));
    assert.throws(() => pruneCandidates(images, { reference: ['x'] }), isError(400, "invalid filter 'reference'"));
  });
});

describe('history', () => {
  test("newest first, empty layers sized 0, the top entry carries id and tags, parents their ids, '<missing>' below", () => {
    const parent = image(7, { tags: ['base:1'], layers: [1], history: [{ created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs' }] });
    const child = image(8, {
      tags: ['app:1', 'app:2'], layers: [1, 2], parent: parent.id,
      history: [
        { created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs' },
        { created: '2024-01-02T00:00:00Z', created_by: 'ENV A=1', empty_layer: true },
        { created: '2024-01-03T00:00:00Z', created_by: 'RUN make', comment: 'c' },
      ],
    });
    const sizes: Record<string, number> = { [child.chainIds[0]]: 10, [child.chainIds[1]]: 20 };
    const h = imageHistory(child, { layerSize: (c) => sizes[c], image: (i) => (i === parent.id ? parent : undefined) });
    assert.deepEqual(h, [
      { Id: child.id, Created: Date.parse('2024-01-03T00:00:00Z') / 1000, CreatedBy: 'RUN make', Tags: ['app:1', 'app:2'], Size: 20, Comment: 'c' },
      { Id: parent.id, Created: Date.parse('2024-01-02T00:00:00Z') / 1000, CreatedBy: 'ENV A=1', Tags: ['base:1'], Size: 0, Comment: '' },
      { Id: '<missing>', Created: Date.parse('2024-01-01T00:00:00Z') / 1000, CreatedBy: 'ADD rootfs', Tags: null, Size: 10, Comment: '' },
    ]);
    const broken = image(9, { layers: [1], history: [{ created_by: 'a' }, { created_by: 'b' }] });
    assert.throws(() => imageHistory(broken, { layerSize: () => 0, image: () => undefined }), isError(500, 'too many non-empty layers in History section'));
  });
});

describe('inspect by API version', () => {
  test('Config as the full container.Config; VirtualSize before 1.44; Container/ContainerConfig/DockerVersion before 1.45', () => {
    const img = image(1, { tags: ['busybox:latest'], labels: { a: 'b' } });
    img.config.config = { Cmd: ['sh'], Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } };
    const view = imageInspect(img, ['/x/diff']);
    const v147 = inspectForApiVersion(img, view, '1.47');
    assert.deepEqual(Object.keys(v147.Config as object), [
      'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty', 'OpenStdin', 'StdinOnce',
      'Env', 'Cmd', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels',
    ]);
    assert.deepEqual((v147.Config as any).Cmd, ['sh']);
    assert.equal((v147.Config as any).Env, null);
    assert.ok(!('VirtualSize' in v147) && !('ContainerConfig' in v147));
    const v141 = inspectForApiVersion(img, view, '1.41');
    assert.deepEqual(Object.keys(v141).slice(0, 10), ['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'Container', 'ContainerConfig', 'DockerVersion', 'Author']);
    assert.equal(v141.VirtualSize, v141.Size);
    assert.deepEqual(Object.keys(v141).indexOf('VirtualSize'), Object.keys(v141).indexOf('Size') + 1);
  });
});
