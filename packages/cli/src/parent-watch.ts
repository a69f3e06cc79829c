/**
 * Stopping a server that npm started. `npx ystate serve` (and an npm script running `ystate serve`)
 * runs the bin as `sh -c 'ystate' serve …` under npm; a SIGTERM to npm is forwarded to that shell
 * only, and Debian's dash neither forwards it nor execs the command, so the shell dies and the
 * server is left running with the port and the store lock taken. The server cannot receive the
 * signal the shell swallowed, but it can see its parent go: under npm it checks every
 * `PARENT_CHECK_MS` and treats a vanished parent as a SIGTERM. Outside npm it does not watch (a
 * server started with `ystate serve &` from a script must outlive that script).
 */

/** How often a server started by npm checks that its parent still runs. */
export const PARENT_CHECK_MS = 500;

/** True when npm ran this process through a script shell (`npx`, `npm exec`, `npm run`, `npm start`). */
export function startedByNpm(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.npm_lifecycle_event !== undefined && env.npm_lifecycle_event !== '';
}

/** Calls `onGone` once when the process that started this one exits; returns how to stop watching. */
export function watchParent(onGone: () => void, intervalMs = PARENT_CHECK_MS): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (isRunning(parent) && process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  // The watch alone must not keep a process alive.
  timer.unref();
  return () => clearInterval(timer);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
