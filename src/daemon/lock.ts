// One daemon per data root: a pid file created exclusively. A stale file (its process gone, or not a
// berth daemon) is taken over; a live one refuses the second daemon with a clear error.
import { promises as fs } from 'fs';

async function isBerthDaemon(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('daemon');
  } catch {
    return false;
  }
}

export async function acquireLock(file: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.open(file, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
    if (pid && pid !== process.pid && (await isBerthDaemon(pid))) {
      throw new Error(`another berth daemon (pid ${pid}) is using the data root ${file.replace(/\/berth\.pid$/, '')}; stop it first, or give this one its own --data-root`);
    }
    await fs.rm(file, { force: true }); // stale: its daemon is gone
  }
  throw new Error(`could not take the lock ${file}`);
}

export async function releaseLock(file: string): Promise<void> {
  const pid = parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
  if (pid === process.pid) await fs.rm(file, { force: true });
}
