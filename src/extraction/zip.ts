/** Promise wrapper over yauzl: list entries (bounded), open entry streams. */
import yauzl from 'yauzl';
import type { Readable } from 'node:stream';

export type ZipEntry = yauzl.Entry;

/** UTF-8 when flagged (bit 11) or valid; otherwise Latin-1 as an approximation of CP437. Backslashes become '/'. */
function decodeEntryName(raw: Buffer, flags: number): string {
  let name: string;
  if (flags & 0x800) name = raw.toString('utf8');
  else {
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      name = raw.toString('latin1');
    }
  }
  return name.replace(/\\/g, '/');
}

export class ZipReader {
  private constructor(private readonly zipfile: yauzl.ZipFile) {}

  static async open(filePath: string): Promise<ZipReader> {
    const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(
        filePath,
        {
          lazyEntries: true,
          autoClose: false,
          validateEntrySizes: true,
          decodeStrings: false,
        },
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
        // Names are decoded here, not by yauzl: its validation rejects the whole archive for one `../x` or
        // `/abs` name, and a scanner must still read such archives (those are the interesting ones).
        entry.fileName = decodeEntryName(entry.fileName as unknown as Buffer, entry.generalPurposeBitFlag);
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
