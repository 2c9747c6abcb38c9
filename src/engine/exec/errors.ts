// What `docker exec` prints when its process could not be started. dockerd relays runc's error on the exec's
// stream ("OCI runtime exec failed: exec failed: unable to start container process: …: unknown") and records
// exit code 126; the texts below are runc's, as dockerd 20.10 printed them beside berth on this machine. Our
// errors come in crun's words (`crun exec`) or the native shim's (native-exec.c, which already uses runc's
// chdir sentence), so they are read here and told the way a Docker user knows them.

/** how dockerd relays every failed exec start from runc */
const RUNC_EXEC_FAILED = 'OCI runtime exec failed: exec failed: ';
const PREFIX = `${RUNC_EXEC_FAILED}unable to start container process: `;
/** dockerd's hint after any start error that says "not a directory" (daemon/start.go) */
const NOT_A_DIRECTORY_HINT = ': Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

/** The working directory could not be entered: the path and the errno text, from crun's or the shim's message. */
function chdirFailure(message: string): { path: string; reason: string } | undefined {
  const m = /chdir to cwd \("([^"]*)"\) set in config\.json failed: ([^:\n]+)/.exec(message) // native-exec.c
    ?? /chdir [`'"]([^`'"]*)[`'"]: ([^:\n]+)/.exec(message); // crun
  return m ? { path: m[1], reason: m[2].trim().toLowerCase() } : undefined; // Go's errno texts are lower case
}

/** runc's check of the process's cwd, before anything runs (libcontainer's validation of the process) */
export const CWD_NOT_ABSOLUTE = `${RUNC_EXEC_FAILED}Cwd must be an absolute path: unknown`;

/** The text of a runtime start failure of `exe`, as dockerd writes it on the stream (without the "\r\n"). */
export function execStartFailure(exe: string, message: string): string {
  const cwd = chdirFailure(message.replace(/\x1b\[[0-9;]*m/g, '')); // crun colours its errors on a terminal
  let text: string;
  if (cwd) text = `chdir to cwd (${JSON.stringify(cwd.path)}) set in config.json failed: ${cwd.reason}`;
  else if (/not found|No such file/i.test(message)) text = `exec: ${JSON.stringify(exe)}: executable file not found in $PATH`;
  else text = `exec: ${JSON.stringify(exe)}: permission denied`;
  return `${PREFIX}${text}: unknown${/not a directory/.test(text) ? NOT_A_DIRECTORY_HINT : ''}`;
}
