import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port, or rejects after `timeoutMs`. */
export async function waitForPort(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 60_000,
  isAlive?: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (isAlive && !isAlive()) throw new Error(`process exited before listening on ${host}:${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** util-linux `setpriv`, when this system has it (Linux): sets a parent-death signal, then execs. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

export interface ManagedProcessOptions extends SpawnOptions {
  /**
   * Signal the server gets from the kernel when its owner dies without stopping it (SIGKILL, OOM killer),
   * through `setpriv --pdeathsig`; without setpriv (not Linux) such a server outlives its owner.
   * Default SIGTERM.
   */
  deathSignal?: NodeJS.Signals;
}

/**
 * A child server process in its own process group, output to a log file, stopped with SIGTERM and
 * then SIGKILL so nothing outlives its owner; if the owner dies first, the kernel signals it.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    readonly logFile: string,
    { deathSignal = 'SIGTERM', ...options }: ManagedProcessOptions = {},
  ) {
    const log = createWriteStream(logFile, { flags: 'a' });
    // setpriv execs the server in place: same pid, same process group.
    const [file, argv] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', deathSignal, '--', command, ...args]]
      : [command, args];
    this.child = spawn(file, argv, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    // Two sources share one log: neither may end it, or the other writes after end.
    this.child.stdout?.pipe(log, { end: false });
    this.child.stderr?.pipe(log, { end: false });
    this.child.once('close', () => log.end());
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        resolve();
      });
      this.child.once('error', () => {
        this.exited = true;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** The end of the log, for error messages. */
  async tail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  /** Hard kill of the whole process group (crash simulation, or clean-up after a failed start). */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.signal('SIGKILL');
    await this.exitPromise;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-(this.child.pid as number), sig);
    } catch {
      // already gone
    }
  }
}
