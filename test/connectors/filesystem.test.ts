import { execFile } from 'node:child_process';
import { collect, packetFactory } from './helpers';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ErrorHandler } from '../../src/core/error-handler';
import { ErrorType, PlatformError } from '../../src/core/errors';
import { SystemLogger } from '../../src/core/logger';
import type {
  ContentComponent,
  DiscoveredBatch,
  EnumerationCursor,
  WorkPacketOptions,
} from '../../src/core/models';
import {
  FilesystemConnector,
  filesystemConnector,
  type FilesystemConfig,
} from '../../src/connectors/filesystem';
import { validateConnectorConfig } from '../../src/connectors/registry';

const logger = new SystemLogger({ level: 'fatal' });
const errorHandler = new ErrorHandler();
let root: string;

const FILES: Record<string, string> = {
  'a.txt': 'alpha\n',
  'b/c.txt': 'charlie\n',
  'b/d/e.txt': 'echo\n',
  'b/d/deep/f.txt': 'foxtrot\n',
  'B-upper.txt': 'upper case sorts before lower case\n',
  'ünï cödé.txt': 'unicode name\n',
  'line\nbreak.txt': 'newline in the name\n',
  'notes.log': 'a log file\n',
  '.git/config': '[core]\n',
  // Code point order (= UTF-8 byte order): U+FFDA before U+1F600, though UTF-16 units order them the other way.
  'many/\u{1F600}.txt': 'astral\n',
  'many/\uFFDA.txt': 'last of the BMP\n',
  ...Object.fromEntries(
    Array.from({ length: 40 }, (_, i) => [`many/file-${String(i).padStart(3, '0')}.txt`, `file ${i}\n`]),
  ),
};

function connector(overrides: Partial<FilesystemConfig> = {}): FilesystemConnector {
  const config = filesystemConnector.configSchema.parse({
    roots: [root],
    exclude: ['**/.git/**'],
    ...overrides,
  });
  return new FilesystemConnector({ datasourceId: 'ds-fs', logger, errorHandler, config });
}

const packet = packetFactory('ds-fs');

async function relativePaths(fs: FilesystemConnector, options: WorkPacketOptions = {}): Promise<string[]> {
  const batches = await collect(fs.enumerateObjects(packet([], options)));
  return batches.flat().map((object) => path.relative(root, object.objectPath));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'assay-fs-test-'));
  await chmod(root, 0o755); // the unreadable-file check runs as user nobody, who must traverse it
  for (const [relative, body] of Object.entries(FILES)) {
    await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
    await writeFile(path.join(root, relative), body);
  }
  await symlink('a.txt', path.join(root, 'link-to-a.txt'));
  await symlink('.', path.join(root, 'loop')); // points at the root itself
  await symlink('../..', path.join(root, 'b/d/up')); // points at the root from two levels down
  await symlink('b', path.join(root, 'alias-b')); // no loop: a second way into b
  await symlink('missing-target', path.join(root, 'dangling'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const SORTED_DEFAULT = [
  'B-upper.txt',
  'a.txt',
  'b/c.txt',
  'b/d/deep/f.txt',
  'b/d/e.txt',
  'line\nbreak.txt',
  ...Array.from({ length: 40 }, (_, i) => `many/file-${String(i).padStart(3, '0')}.txt`),
  'many/\uFFDA.txt',
  'many/\u{1F600}.txt',
  'notes.log',
  'ünï cödé.txt',
];

describe('filesystem connector', () => {
  test('walks nested folders in code point order, skipping excluded folders and links by default', async () => {
    const fs = connector();
    try {
      const batches = await collect(fs.enumerateObjects(packet([], { batchSize: 10 })));
      expect(batches.map((batch) => batch.length)).toEqual([10, 10, 10, 10, 10]);
      expect(batches.flat().map((object) => path.relative(root, object.objectPath))).toEqual(SORTED_DEFAULT);
      const first = batches[0][0];
      expect(first).toEqual({
        objectId: `ds-fs:${path.join(root, 'B-upper.txt')}`,
        datasourceId: 'ds-fs',
        objectPath: path.join(root, 'B-upper.txt'),
        objectType: 'file',
        size: Buffer.byteLength(FILES['B-upper.txt']),
        lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      for (const batch of batches) expect(Buffer.byteLength(JSON.stringify(batch.cursor))).toBeLessThan(4096);
    } finally {
      await fs.close();
      await fs.close(); // idempotent
    }
  });

  test("listed sizes and times are exactly node's stat of each file (links followed)", async () => {
    const fs = connector();
    try {
      const objects = (await collect(fs.enumerateObjects(packet()))).flat();
      expect(objects.length).toBeGreaterThan(5);
      for (const object of objects) {
        const stats = await stat(object.objectPath);
        expect([object.objectPath, object.size, object.lastModified]).toEqual([
          object.objectPath,
          stats.size,
          stats.mtime.toISOString(),
        ]);
      }
    } finally {
      await fs.close();
    }
  });

  test('a walk resumed from a mid-way cursor equals the uninterrupted walk', async () => {
    const options = { batchSize: 3 };
    const full = await collect(connector().enumerateObjects(packet([], options)));
    const all = full.flat().map((object) => object.objectId);
    for (let stopAfter = 1; stopAfter < full.length; stopAfter++) {
      const cursor = JSON.parse(JSON.stringify(full[stopAfter - 1].cursor)) as EnumerationCursor;
      const resumed: DiscoveredBatch[] = await collect(
        connector().enumerateObjects(packet([], options, cursor)),
      );
      const before = full.slice(0, stopAfter).flat();
      expect([...before, ...resumed.flat()].map((object) => object.objectId)).toEqual(all);
    }
  });

  test('resumes across several roots', async () => {
    const roots = [path.join(root, 'many'), path.join(root, 'b')];
    const full = await collect(connector({ roots }).enumerateObjects(packet([], { batchSize: 7 })));
    const all = full.flat().map((object) => object.objectPath);
    expect(all).toHaveLength(45);
    expect(all.slice(-4).map((p) => path.relative(root, p))).toEqual([
      'many/\u{1F600}.txt',
      'b/c.txt',
      'b/d/deep/f.txt',
      'b/d/e.txt',
    ]);
    const cursor = full[5].cursor; // inside the second root
    const resumed = (
      await collect(connector({ roots }).enumerateObjects(packet([], { batchSize: 7 }, cursor)))
    ).flat();
    expect([...full.slice(0, 6).flat(), ...resumed].map((object) => object.objectPath)).toEqual(all);
  });

  test('include and exclude globs', async () => {
    const onlyText = await relativePaths(
      connector({ include: ['**/*.txt'], exclude: ['**/.git/**', 'many/**', 'b/d/**'] }),
    );
    expect(onlyText).toEqual(['B-upper.txt', 'a.txt', 'b/c.txt', 'line\nbreak.txt', 'ünï cödé.txt']);
    const logs = await relativePaths(connector({ include: ['*.log', '.git/*'], exclude: [] }));
    expect(logs).toEqual(['.git/config', 'notes.log']);
  });

  test('maxDepth limits how many folder levels are walked', async () => {
    const rootOnly = await relativePaths(connector({ maxDepth: 0 }));
    expect(rootOnly).toEqual(['B-upper.txt', 'a.txt', 'line\nbreak.txt', 'notes.log', 'ünï cödé.txt']);
    const two = await relativePaths(connector({ maxDepth: 2, exclude: ['**/.git/**', 'many/**'] }));
    expect(two).toEqual([
      'B-upper.txt',
      'a.txt',
      'b/c.txt',
      'b/d/e.txt',
      'line\nbreak.txt',
      'notes.log',
      'ünï cödé.txt',
    ]);
  });

  test('followSymlinks: links are followed, loops detected (no endless walk), dangling links skipped', async () => {
    const walked = await relativePaths(
      connector({ followSymlinks: true, exclude: ['**/.git/**', 'many/**'] }),
    );
    expect(walked).toEqual([
      'B-upper.txt',
      'a.txt',
      'alias-b/c.txt',
      'alias-b/d/deep/f.txt',
      'alias-b/d/e.txt',
      'b/c.txt',
      'b/d/deep/f.txt',
      'b/d/e.txt',
      'line\nbreak.txt',
      'link-to-a.txt',
      'notes.log',
      'ünï cödé.txt',
    ]);
  });

  test('details: size, times, mode, owner, streamed sha256; a vanished file fails alone', async () => {
    const gone = path.join(root, 'vanishing.txt');
    await writeFile(gone, 'soon gone');
    const fs = connector({ hashContent: true });
    try {
      const ids = (await collect(fs.enumerateObjects(packet()))).flat().map((object) => object.objectId);
      expect(ids).toContain(`ds-fs:${gone}`);
      await unlink(gone);
      const details = await fs.getObjectDetails(
        packet([`ds-fs:${path.join(root, 'a.txt')}`, `ds-fs:${gone}`, 'ds-fs:/etc/passwd']),
      );
      expect(details[0]).toEqual({
        objectId: `ds-fs:${path.join(root, 'a.txt')}`,
        objectPath: path.join(root, 'a.txt'),
        objectType: 'file',
        size: 6,
        lastModified: expect.any(String),
        attributes: {
          mode: '0644',
          uid: process.getuid?.(),
          gid: process.getgid?.(),
          ctime: expect.any(String),
          inode: expect.any(Number),
          sha256: createHash('sha256').update(FILES['a.txt']).digest('hex'),
        },
      });
      expect(details[1].error?.type).toBe(ErrorType.OBJECT_NOT_FOUND);
      expect(details[2].error).toEqual({
        type: ErrorType.OBJECT_NOT_FOUND,
        message: '/etc/passwd is outside the configured roots',
      });
    } finally {
      await fs.close();
    }
  });

  test('content goes through the extractor; vanished and too-large files are error components', async () => {
    const fs = connector();
    const a = `ds-fs:${path.join(root, 'a.txt')}`;
    const odd = `ds-fs:${path.join(root, 'line\nbreak.txt')}`;
    const missing = `ds-fs:${path.join(root, 'never-there.txt')}`;
    const big = `ds-fs:${path.join(root, 'B-upper.txt')}`;
    const components = await collect(
      fs.getObjectContent(packet([a, missing, big, odd], { maxObjectBytes: 20 })),
    );
    expect(components.map((c) => [c.objectId, c.kind, c.text ?? c.error?.type])).toEqual([
      [a, 'text', FILES['a.txt']],
      [missing, 'error', ErrorType.OBJECT_NOT_FOUND],
      [big, 'error', ErrorType.CONTENT_TOO_LARGE],
      [odd, 'text', FILES['line\nbreak.txt']],
    ]);
    expect(components[0].componentPath).toBe(path.join(root, 'a.txt'));
  });

  test('content read in one native job carries the same details as getObjectDetails; a FIFO is refused, not waited on', async () => {
    const fs = connector({ hashContent: true });
    const named = path.join(root, 'naïve – ünïcode.txt');
    const fifo = path.join(root, 'became-a-fifo.txt');
    await writeFile(named, 'contact: a@example.com\n');
    await writeFile(fifo, 'a file when listed');
    try {
      const ids = [`ds-fs:${path.join(root, 'a.txt')}`, `ds-fs:${named}`];
      const components = await collect(fs.getObjectContent(packet(ids)));
      expect(components.map((c) => c.text)).toEqual([FILES['a.txt'], 'contact: a@example.com\n']);
      expect(components.map((c) => c.details)).toEqual(await fs.getObjectDetails(packet(ids)));
      await unlink(fifo);
      await promisify(execFile)('mkfifo', [fifo]);
      const [refused] = await collect(fs.getObjectContent(packet([`ds-fs:${fifo}`])));
      expect([refused.kind, refused.error?.type]).toEqual(['error', ErrorType.CONTENT_UNSUPPORTED]);
    } finally {
      await fs.close();
      await rm(named, { force: true });
      await rm(fifo, { force: true });
    }
  });

  test('a packet of small files bigger than one read-ahead job gives what each file gives alone', async () => {
    const fs = connector();
    const dir = path.join(root, 'read-ahead');
    await mkdir(path.join(dir, 'folder'), { recursive: true });
    try {
      const ids: string[] = [];
      const add = (name: string) => ids.push(`ds-fs:${path.join(dir, name)}`);
      // 150 files of 6,000 bytes: 900 KB, more than one job's 512 KiB, with a misfit every 25 files.
      const misfits = ['folder', 'empty.txt', 'big.txt', 'missing.txt', 'fifo.txt'];
      for (let i = 0; i < 150; i++) {
        const name = `f${String(i).padStart(3, '0')}.txt`;
        await writeFile(path.join(dir, name), `${name} `.repeat(750));
        add(name);
        const misfit = i % 25 === 24 ? misfits[(i - 24) / 25] : undefined;
        if (misfit) add(misfit);
      }
      ids.push('ds-fs:/etc/hostname'); // outside the roots: never opened
      await writeFile(path.join(dir, 'empty.txt'), '');
      await writeFile(path.join(dir, 'big.txt'), 'x '.repeat(40_000)); // over the 64 KiB small-file size
      await promisify(execFile)('mkfifo', [path.join(dir, 'fifo.txt')]);
      const summary = (c: ContentComponent) => [c.objectId, c.kind, c.text ?? c.error?.type];
      const batched = (await collect(fs.getObjectContent(packet(ids)))).map(summary);
      const alone: unknown[] = [];
      for (const id of ids) alone.push(...(await collect(fs.getObjectContent(packet([id])))).map(summary));
      expect(batched).toEqual(alone);
      // 150 small files, and big.txt (80,000 characters) read the general way in two chunks.
      expect(batched.filter(([, kind]) => kind === 'text')).toHaveLength(152);
      expect(batched[0]).toEqual([ids[0], 'text', 'f000.txt '.repeat(750)]);
      expect(batched.filter(([, kind]) => kind === 'error').map(([id, , type]) => [id, type])).toEqual([
        [`ds-fs:${path.join(dir, 'folder')}`, ErrorType.CONTENT_UNSUPPORTED],
        [`ds-fs:${path.join(dir, 'missing.txt')}`, ErrorType.OBJECT_NOT_FOUND],
        [`ds-fs:${path.join(dir, 'fifo.txt')}`, ErrorType.CONTENT_UNSUPPORTED],
        ['ds-fs:/etc/hostname', ErrorType.OBJECT_NOT_FOUND],
      ]);
    } finally {
      await fs.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a missing root is CONFIGURATION_INVALID', async () => {
    const fs = connector({ roots: [path.join(root, 'no-such-dir')] });
    await expect(collect(fs.enumerateObjects(packet()))).rejects.toMatchObject({
      type: ErrorType.CONFIGURATION_INVALID,
    });
    await expect(collect(fs.enumerateObjects(packet()))).rejects.toBeInstanceOf(PlatformError);
  });

  test('an unreadable file and folder are RIGHTS_ACCESS_DENIED for that object only', async () => {
    const tree = await mkdtemp(path.join(os.tmpdir(), 'assay-fs-denied-'));
    try {
      await chmod(tree, 0o755);
      await writeFile(path.join(tree, 'open.txt'), 'readable\n');
      await writeFile(path.join(tree, 'secret.txt'), 'top secret\n');
      await mkdir(path.join(tree, 'locked'));
      await writeFile(path.join(tree, 'locked', 'inside.txt'), 'hidden\n');
      await writeFile(path.join(tree, 'z-last.txt'), 'after the locked folder\n');
      await chmod(path.join(tree, 'secret.txt'), 0o000);
      await chmod(path.join(tree, 'locked'), 0o000);
      // As root, mode 000 denies nothing: run the connector as the unprivileged user nobody.
      const report = await runAsUnprivileged(tree);
      expect(report.enumerated).toEqual(['locked', 'open.txt', 'secret.txt', 'z-last.txt']);
      expect(report.details).toEqual([
        ['locked', ErrorType.RIGHTS_ACCESS_DENIED],
        ['open.txt', null],
        ['secret.txt', ErrorType.RIGHTS_ACCESS_DENIED],
        ['z-last.txt', null],
      ]);
      expect(report.content).toEqual([
        ['locked', 'error', ErrorType.RIGHTS_ACCESS_DENIED],
        ['open.txt', 'text', 'readable\n'],
        ['secret.txt', 'error', ErrorType.RIGHTS_ACCESS_DENIED],
        ['z-last.txt', 'text', 'after the locked folder\n'],
      ]);
    } finally {
      await chmod(path.join(tree, 'locked'), 0o755).catch(() => undefined);
      await rm(tree, { recursive: true, force: true });
    }
  }, 60_000);
});

interface DeniedReport {
  enumerated: string[];
  details: Array<[string, string | null]>;
  content: Array<[string, string, string | undefined]>;
}

/** Runs enumerate/details/content over `tree` in a child process, as user nobody when we are root. */
async function runAsUnprivileged(tree: string): Promise<DeniedReport> {
  const projectRoot = path.resolve(__dirname, '../..');
  const script = `
    require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(path.join(projectRoot, 'tsconfig.json'))} });
    const path = require('node:path');
    const { FilesystemConnector, filesystemConfigSchema } = require(${JSON.stringify(path.join(projectRoot, 'src/connectors/filesystem.ts'))});
    const { ErrorHandler } = require(${JSON.stringify(path.join(projectRoot, 'src/core/error-handler.ts'))});
    const { SystemLogger } = require(${JSON.stringify(path.join(projectRoot, 'src/core/logger.ts'))});
    (async () => {
      const tree = process.argv[1];
      const config = filesystemConfigSchema.parse({ roots: [tree] });
      const fs = new FilesystemConnector({ datasourceId: 'ds', logger: new SystemLogger({ level: 'fatal' }), errorHandler: new ErrorHandler(), config });
      const packet = (objectIds) => ({ header: {}, payload: { objectIds } });
      const ids = [];
      for await (const batch of fs.enumerateObjects(packet([]))) ids.push(...batch.map((o) => o.objectId));
      const rel = (id) => path.relative(tree, id.slice('ds:'.length));
      const details = (await fs.getObjectDetails(packet(ids))).map((d) => [rel(d.objectId), d.error ? d.error.type : null]);
      const content = [];
      for await (const c of fs.getObjectContent(packet(ids))) content.push([rel(c.objectId), c.kind, c.text ?? (c.error && c.error.type)]);
      process.stdout.write(JSON.stringify({ enumerated: ids.map(rel), details, content }));
    })().catch((err) => { console.error(err); process.exit(1); });
  `;
  const command =
    process.getuid?.() === 0 ? ['runuser', ['-u', 'nobody', '--', process.execPath]] : [process.execPath, []];
  const { stdout } = await promisify(execFile)(
    command[0] as string,
    [...(command[1] as string[]), '-e', script, tree],
    {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, HOME: os.tmpdir() },
    },
  );
  return JSON.parse(stdout) as DeniedReport;
}

describe('filesystem config validation', () => {
  test('defaults', () => {
    expect(filesystemConnector.type).toBe('filesystem');
    expect(validateConnectorConfig('filesystem', { roots: ['/data/docs'] })).toEqual({
      roots: ['/data/docs'],
      include: ['**/*'],
      exclude: [],
      followSymlinks: false,
      hashContent: false,
      maxConcurrency: 8,
    });
  });

  test('bad fields are named in the message', () => {
    expect(() => validateConnectorConfig('filesystem', { roots: [] })).toThrow(
      'datasource.config.roots: at least one root directory is required',
    );
    expect(() => validateConnectorConfig('filesystem', { roots: ['relative/dir'] })).toThrow(
      'datasource.config.roots.0: must be an absolute path',
    );
    expect(() => validateConnectorConfig('filesystem', { roots: ['/d'], maxDepth: -1 })).toThrow(
      /datasource\.config\.maxDepth: /,
    );
    expect(() => validateConnectorConfig('filesystem', { roots: ['/d'], folowSymlinks: true })).toThrow(
      /folowSymlinks/,
    );
    expect(() => validateConnectorConfig('s3', { bucket: 'b-1', region: 7 })).toThrow(
      /datasource\.config\.region: /,
    );
  });
});
