// Reads pytest's junit XML (the suite's outcome) and the test lists beside it (expected-pass.txt,
// differences.txt, deselect.txt): `file::Class::test  # reason` per line.

export type Outcome = 'passed' | 'failed' | 'error' | 'skipped';

export interface TestResult { outcome: Outcome; message: string }

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescape(m[1]) : undefined;
};

/**
 * Test id (as pytest names it below tests/integration: `api_container_test.py::ListContainersTest::test_list`) →
 * outcome. A test with a failure in its call and an error in its teardown appears twice in the XML: the worse wins.
 */
export function parseJunit(xml: string): Map<string, TestResult> {
  const out = new Map<string, TestResult>();
  const rank: Record<Outcome, number> = { passed: 0, skipped: 1, failed: 2, error: 3 };
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const classname = attr(m[1], 'classname') ?? '';
    const name = attr(m[1], 'name') ?? '';
    const parts = classname.replace(/^tests\.integration\./, '').split('.');
    const id = `${parts.slice(0, -1).join('/')}.py::${parts[parts.length - 1]}::${name}`;
    const body = m[3] ?? '';
    const child = /<(failure|error|skipped)\b([^>]*)/.exec(body);
    const outcome: Outcome = !child ? 'passed' : child[1] === 'failure' ? 'failed' : child[1] as Outcome;
    const result = { outcome, message: child ? attr(child[2], 'message') ?? '' : '' };
    const prev = out.get(id);
    if (!prev || rank[result.outcome] > rank[prev.outcome]) out.set(id, result);
  }
  return out;
}

/** A list file: test id → the reason written after "#" (comments and blank lines skipped). */
export function readTestList(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('#');
    const id = (i < 0 ? line : line.slice(0, i)).trim();
    if (id) out.set(id, i < 0 ? '' : line.slice(i + 1).trim());
  }
  return out;
}
