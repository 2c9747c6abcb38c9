// What the builder (and the engine) use from build/: see README.md.
export {
  parseDockerfile, parseTriggers, findStage, parseRunMount, runCommandLine, parseHeredocWord, chompHeredoc,
  DockerfileError,
} from './dockerfile';
export type {
  Dockerfile, Stage, Instruction, RunInstruction, CmdInstruction, EntrypointInstruction, EnvInstruction,
  LabelInstruction, ArgInstruction, ArgDef, ExposeInstruction, CopyInstruction, AddInstruction, WorkdirInstruction,
  UserInstruction, StopSignalInstruction, MaintainerInstruction, VolumeInstruction, HealthcheckInstruction,
  ShellInstruction, OnbuildInstruction, KeyValue, Heredoc, InlineSource, RunMount, DockerfileWarning, EscapeToken,
} from './dockerfile';
export { expand, expandToWords, expandHeredoc, expandInstruction, expandFrom, expandAt } from './expand';
export type { ExpandOptions } from './expand';
export { BuildArgs, StageArgs, platformArgs, PROXY_ARGS } from './args';
export type { BuildArgsOptions } from './args';
export { parseDockerignore, DockerIgnore, trimBuildFilesFromExcludes, filesHiddenAfterParse } from './dockerignore';
export {
  extractContext, removeIgnored, expandSources, checksumSources, resolveInRoot, contextPath, readContextDockerfile,
} from './context';
export type { ContextEntry, ExtractOptions, ExtractResult, CopySource, SourceOptions } from './context';
export { goMatch, cleanPath, hasWildcards } from './match';
