// What a command is and what it is given: the types main.ts (dispatch) and every commands/* module share.
// They live here, below both, so a command module never imports main.ts (no import cycle).
import type { CommandSpec, Parsed, Validator } from './command';
import type { Client } from '../client';

/** What a command implementation gets. */
export interface Ctx {
  /** The API client, made on first use (commands that fail on their arguments never load node:http). */
  client(): Client;
  host: string;
  debug: boolean;
  out(s: string): void;
  err(s: string): void;
}

/** A command: its spec (flags, usage) and its implementation. */
export interface Cmd {
  spec: CommandSpec;
  validators?: Record<string, Validator>;
  run(ctx: Ctx, p: Parsed): Promise<number | void>;
}

/** A command module's export: builds the command for its full path ("ps", "container ls", …). */
export type CommandFactory = (id: string) => Cmd;
