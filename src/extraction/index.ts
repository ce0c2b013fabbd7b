// PLACEHOLDER until the extraction module lands: plain text only, behind the final interface.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ContentComponent } from '../core/models';

export interface ExtractOptions {
  /** Path shown for the component; default: the objectId's path part. */
  componentPath?: string;
  abortSignal?: AbortSignal;
}

export class ContentExtractor {
  async *extractFromFile(filePath: string, objectId: string, options: ExtractOptions = {}): AsyncIterable<ContentComponent> {
    yield* this.extractFromStream(createReadStream(filePath), objectId, options);
  }

  async *extractFromStream(stream: Readable, objectId: string, options: ExtractOptions = {}): AsyncIterable<ContentComponent> {
    const componentPath = options.componentPath ?? objectId.slice(objectId.indexOf(':') + 1);
    let offset = 0;
    let line = 1;
    const decoder = new TextDecoder('utf-8');
    for await (const chunk of stream) {
      const text = decoder.decode(chunk as Buffer, { stream: true });
      yield { objectId, componentPath, kind: 'text', text, offset, line, bytes: (chunk as Buffer).length };
      offset += text.length;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++;
    }
  }
}
