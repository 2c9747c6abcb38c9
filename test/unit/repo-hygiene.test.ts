// The checkout itself: merges of parallel work must not leave conflict markers behind (one once reached main in
// bench/run, where nothing compiles it, so no other test would notice).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';

const REPO = path.resolve(__dirname, '../../..');

test('no tracked file holds a merge conflict marker', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
  const marked: string[] = [];
  for (const f of files) {
    let text: string;
    try { text = readFileSync(path.join(REPO, f), 'utf8'); } catch { continue; } // a deleted or unreadable path
    if (text.includes('\0')) continue; // binary
    if (/^(<{7}|>{7}) /m.test(text) || /^<{7} .*\n[\s\S]*?^={7}$/m.test(text)) marked.push(f);
  }
  assert.deepEqual(marked, []);
});
