import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getFreePort, ManagedProcess, waitForPort, sleep } from './managed-process';
import { seaweedfsPath } from './tools';

export interface S3Identity {
  name: string;
  accessKey: string;
  secretKey: string;
  /** SeaweedFS actions, e.g. ['Admin'] or ['Read:bucket-a', 'List:bucket-a']. */
  actions: string[];
}

/** Every port `weed mini` listens on; pass a previous start's `allPorts` to restart on the same ports. */
export interface LocalS3Ports {
  http: Record<string, number>;
  grpc: Record<string, number>;
}

/** Resolves when `url` answers with any HTTP status three times in a row. */
async function waitForHttp(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let streak = 0;
  while (streak < 3) {
    const answered = await new Promise<boolean>((resolve) => {
      const request = http.get(url, { timeout: 2000 }, (response) => {
        response.resume();
        resolve(
          (response.statusCode ?? 0) > 0 &&
            (response.statusCode ?? 0) !== 502 &&
            (response.statusCode ?? 0) !== 503,
        );
      });
      request.on('error', () => resolve(false));
      request.on('timeout', () => request.destroy());
    });
    streak = answered ? streak + 1 : 0;
    if (!isAlive()) throw new Error('SeaweedFS exited during start-up');
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    if (streak < 3) await sleep(100);
  }
}

export interface LocalS3Options {
  dir: string;
  identities: S3Identity[];
  /** Default: free ports. */
  ports?: LocalS3Ports;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  region: string;
  allPorts: LocalS3Ports;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * SeaweedFS `weed mini` (master, volume, filer and S3 gateway in one process) with S3 auth enabled
 * from a static identities file. Every port is chosen free, so nothing clashes with other servers.
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const s3Config = path.join(dir, 's3.json');
  await writeFile(
    s3Config,
    JSON.stringify({
      identities: options.identities.map((id) => ({
        name: id.name,
        credentials: [{ accessKey: id.accessKey, secretKey: id.secretKey }],
        actions: id.actions,
      })),
    }),
    { mode: 0o600 },
  );
  // Restarts pass the previous ports, so clients keep their endpoint.
  const ports: Record<string, number> = { ...options.ports?.http };
  for (const name of ['s3', 'master', 'volume', 'filer', 'admin', 'webdav', 'debug'])
    ports[name] ??= await getFreePort();
  const grpc: Record<string, number> = { ...options.ports?.grpc };
  for (const name of ['master', 'volume', 'filer', 's3', 'admin']) grpc[name] ??= await getFreePort();
  const args = [
    'mini',
    `-dir=${dir}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-s3.port=${ports.s3}`,
    `-s3.port.grpc=${grpc.s3}`,
    `-s3.config=${s3Config}`,
    // Their fixed default ports (8181, 9101) would collide between two servers on one machine.
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    `-master.port=${ports.master}`,
    `-master.port.grpc=${grpc.master}`,
    `-volume.port=${ports.volume}`,
    `-volume.port.grpc=${grpc.volume}`,
    `-filer.port=${ports.filer}`,
    `-filer.port.grpc=${grpc.filer}`,
    `-filer.localSocket=${path.join(dir, 'filer.sock')}`,
    `-admin.port=${ports.admin}`,
    `-admin.port.grpc=${grpc.admin}`,
    '-admin.ui=false',
    `-webdav.port=${ports.webdav}`,
    `-debug.port=${ports.debug}`,
    '-master.volumeSizeLimitMB=64',
  ];
  const proc = new ManagedProcess('seaweedfs', seaweedfsPath(), args, path.join(dir, 'weed.log'), {
    cwd: dir,
  });
  try {
    await waitForPort(ports.s3, '127.0.0.1', 90_000, () => proc.alive);
    // The S3 port opens before the gateway reaches its filer: wait for real HTTP answers from both.
    await waitForHttp(`http://127.0.0.1:${ports.s3}/`, 90_000, () => proc.alive);
    await waitForHttp(`http://127.0.0.1:${ports.filer}/`, 90_000, () => proc.alive);
    await sleep(300);
    await waitForHttp(`http://127.0.0.1:${ports.s3}/`, 30_000, () => proc.alive);
  } catch (err) {
    await proc.kill();
    throw new Error(`SeaweedFS did not start: ${(err as Error).message}\n${await proc.tail()}`);
  }
  return {
    endpoint: `http://127.0.0.1:${ports.s3}`,
    port: ports.s3,
    region: 'us-east-1',
    allPorts: { http: ports, grpc },
    process: proc,
    stop: () => proc.stop(10_000),
  };
}
