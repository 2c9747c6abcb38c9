// Moved to src/common/shell-words.ts, which the Dockerfile builder shares; kept so existing imports still work.
export { envMap, expandWord, splitBlanks, splitWords } from '../common/shell-words';
export type { Env } from '../common/shell-words';
