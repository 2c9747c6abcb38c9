// `diff` (container diff) and `commit` (container commit): a container's filesystem changes, and an image made
// of them. Texts, flags and client-side checks as docker's CLI v28.
import { BIN, StatusError, flagDefs } from '../command';
import type { Cmd } from '../cmd';
import { parseNormalizedNamed, refName, tagNameOnly } from './reference';

const KIND = ['C', 'A', 'D'];

export function command(id: string): Cmd {
  switch (id) {
    case 'diff': case 'container diff': return diffCommand(id);
    case 'commit': case 'container commit': return commitCommand(id);
  }
  throw new Error(`unknown command ${id}`);
}

function diffCommand(id: string): Cmd {
  return {
    spec: {
      path: id,
      use: 'CONTAINER',
      short: "Inspect changes to files or directories on a container's filesystem",
      aliases: `${BIN} container diff, ${BIN} diff`,
      args: { exact: 1 },
      flags: [],
    },
    async run(ctx, p) {
      const container = p.args[0];
      if (container === '') throw new StatusError(1, 'Container name cannot be empty');
      const changes = await ctx.client().containerChanges(container);
      let out = '';
      for (const c of changes ?? []) out += `${KIND[c.Kind] ?? ''} ${c.Path}\n`;
      ctx.out(out);
      return 0;
    },
  };
}

function commitCommand(id: string): Cmd {
  return {
    spec: {
      path: id,
      use: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
      short: "Create a new image from a container's changes",
      aliases: `${BIN} container commit, ${BIN} commit`,
      args: { range: [1, 2] },
      flags: flagDefs([
        ['a', 'author', 'string', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'],
        ['c', 'change', 'list', 'Apply Dockerfile instruction to the created image'],
        ['m', 'message', 'string', 'Commit message'],
        ['p', 'pause', 'bool', 'Pause container during commit', 'true'],
      ]),
    },
    async run(ctx, p) {
      const [container, reference = ''] = p.args;
      if (container.trim() === '') throw new StatusError(1, 'invalid container name or ID: value is empty');
      let repo = '';
      let tag = '';
      if (reference !== '') {
        let ref;
        try { ref = parseNormalizedNamed(reference); } catch (err) { throw new StatusError(1, (err as Error).message); }
        if (ref.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
        repo = refName(ref);
        tag = tagNameOnly(ref).tag ?? '';
      }
      const res = await ctx.client().containerCommit({
        container, repo, tag, comment: p.str('message'), author: p.str('author'),
        changes: p.list('change').length ? p.list('change') : undefined,
        pause: p.bool('pause', true) ? undefined : '0',
      });
      ctx.out(`${res.Id}\n`);
      return 0;
    },
  };
}
