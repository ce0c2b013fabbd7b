/** Promise wrapper over yauzl: list entries (bounded), open entry streams. */
import yauzl from 'yauzl';
import type { Readable } from 'node:stream';

export type ZipEntry = yauzl.Entry;

export class ZipReader {
  private constructor(private readonly zipfile: yauzl.ZipFile) {}

  static async open(filePath: string): Promise<ZipReader> {
    const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(
        filePath,
        { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false, decodeStrings: true },
        (err, zip) => (err ? reject(err) : resolve(zip)),
      ),
    );
    return new ZipReader(zipfile);
  }

  /** Entry count from the central directory (before listing). */
  get declaredEntryCount(): number {
    return this.zipfile.entryCount;
  }

  /** Reads up to `max` entries of the central directory, directories included. */
  async list(max: number): Promise<ZipEntry[]> {
    const zipfile = this.zipfile;
    return new Promise<ZipEntry[]>((resolve, reject) => {
      const entries: ZipEntry[] = [];
      const cleanup = () => {
        zipfile.removeListener('entry', onEntry);
        zipfile.removeListener('end', onEnd);
        zipfile.removeListener('error', onError);
      };
      const onEntry = (entry: ZipEntry) => {
        entries.push(entry);
        if (entries.length >= max) {
          cleanup();
          resolve(entries);
        } else zipfile.readEntry();
      };
      const onEnd = () => {
        cleanup();
        resolve(entries);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      zipfile.on('entry', onEntry);
      zipfile.on('end', onEnd);
      zipfile.on('error', onError);
      if (max <= 0) onEnd();
      else zipfile.readEntry();
    });
  }

  openStream(entry: ZipEntry): Promise<Readable> {
    return new Promise<Readable>((resolve, reject) =>
      this.zipfile.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))),
    );
  }

  close(): void {
    this.zipfile.close();
  }
}
