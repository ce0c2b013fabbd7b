/**
 * Reading and classifying a chunk of objects: connector content → classifier → one outcome per object. The same
 * code runs in the activity (on the worker's main thread) and on content threads (content-thread.ts).
 */
import { CancelledFailure } from '@temporalio/common';
import type { ErrorHandler } from '../src/core/error-handler';
import { ErrorType, PlatformError } from '../src/core/errors';
import type { DataSourceConnector } from '../src/core/interfaces';
import type { ContentComponent, DatabaseRow, ObjectMetadata, WorkPacket } from '../src/core/models';
import type { ObjectClassification } from '../src/classification/types';

/** What reading needs from a classifier (src/classification's Classifier fits). */
export interface ContentClassifier {
  classifyComponents(
    objectId: string,
    components: AsyncIterable<ContentComponent>,
  ): Promise<ObjectClassification>;
  /** Rows of one or more tables (grouped by objectId); one result per table seen. */
  classifyRows(rows: AsyncIterable<DatabaseRow>): Promise<ObjectClassification[]>;
}

/** One object's outcome: its classification, or the failure recorded against it; with details read on the way. */
export type ContentOutcome =
  | { objectId: string; result: ObjectClassification; details?: ObjectMetadata }
  | { objectId: string; failure: { type: string; message: string }; details?: ObjectMetadata };

export interface ReadContentContext {
  connector: DataSourceConnector;
  classifier: ContentClassifier;
  errorHandler: ErrorHandler;
  /** The work packet that asks the connector for these objects' content. */
  packet(objectIds: string[]): WorkPacket;
  cancellationSignal?: AbortSignal;
  /** Receives each outcome in turn (awaited before the next object is read). */
  emit(outcome: ContentOutcome): Promise<void> | void;
}

export function emptyClassification(objectId: string): ObjectClassification {
  return { objectId, findings: [], findingCounts: {}, columns: [], failures: [], bytesScanned: 0 };
}

/**
 * Reads and classifies `objectIds`, emitting one outcome per object. An object-level failure the connector throws
 * instead of yielding is recorded against that object and reading goes on with the rest; any other error is thrown
 * (as a PlatformError) after the outcomes emitted so far.
 */
export async function readAndClassify(objectIds: string[], context: ReadContentContext): Promise<void> {
  const { connector, classifier, errorHandler, cancellationSignal, emit } = context;
  const throwIfCancelled = () => {
    if (cancellationSignal?.aborted) throw new CancelledFailure('activity cancelled');
  };
  let remaining = objectIds;
  while (remaining.length > 0) {
    const seen = new Set<string>();
    try {
      const contentPacket = context.packet(remaining);
      if (connector.kind === 'file') {
        // Streamed per object: the classifier consumes one object's components while they are read.
        const newTally = () => ({
          content: 0,
          error: undefined as { type: string; message: string } | undefined,
          details: undefined as ObjectMetadata | undefined,
        });
        /** The current object's: its components are seen while the classifier consumes them. */
        let tally = newTally();
        for await (const group of splitByObject<ContentComponent>(
          connector.getObjectContent(contentPacket),
          (component) => {
            if (component.details) tally.details = component.details;
            if (component.kind === 'error')
              tally.error ??= component.error ?? {
                type: ErrorType.INTERNAL,
                message: 'unreadable content',
              };
            else tally.content++;
          },
        )) {
          throwIfCancelled();
          seen.add(group.objectId);
          tally = newTally();
          const result = await classifier.classifyComponents(group.objectId, group.items);
          if (tally.content === 0 && tally.error)
            await emit({ objectId: group.objectId, failure: tally.error, details: tally.details });
          else await emit({ objectId: result.objectId, result, details: tally.details });
        }
      } else {
        const tallies = new Map<string, { rows: number; error?: { type: string; message: string } }>();
        const counted = tap(connector.getObjectContent(contentPacket), (row) => {
          throwIfCancelled();
          let tally = tallies.get(row.objectId);
          if (!tally) tallies.set(row.objectId, (tally = { rows: 0 }));
          if (row.error) tally.error ??= row.error;
          else tally.rows++;
        });
        const results = new Map((await classifier.classifyRows(counted)).map((r) => [r.objectId, r]));
        for (const [objectId, tally] of tallies) {
          seen.add(objectId);
          if (tally.rows === 0 && tally.error) await emit({ objectId, failure: tally.error });
          else await emit({ objectId, result: results.get(objectId) ?? emptyClassification(objectId) });
        }
      }
      // Objects the connector yielded nothing for (empty files, empty tables) have no findings.
      for (const objectId of remaining)
        if (!seen.has(objectId)) await emit({ objectId, result: emptyClassification(objectId) });
      remaining = [];
    } catch (err) {
      if (err instanceof CancelledFailure) throw err;
      const platform = err instanceof PlatformError ? err : errorHandler.wrap(err, {}, 'read content');
      const objectId = typeof platform.context.objectId === 'string' ? platform.context.objectId : undefined;
      // An object-level failure the connector threw instead of yielding: record it, go on with the rest.
      if (
        platform.scope === 'object' &&
        platform.type !== ErrorType.INTERNAL &&
        objectId &&
        remaining.includes(objectId) &&
        !cancellationSignal?.aborted
      ) {
        await emit({ objectId, failure: { type: platform.type, message: platform.message } });
        remaining = remaining.filter((id) => id !== objectId && !seen.has(id));
        continue;
      }
      throw platform;
    }
  }
}

/** Passes items through, calling `see` on each (counting, cancellation checks). */
export async function* tap<T>(items: AsyncIterable<T>, see: (item: T) => void): AsyncGenerator<T> {
  for await (const item of items) {
    see(item);
    yield item;
  }
}

/**
 * Splits a content stream into consecutive runs per object, streamed: each group's `items` must be
 * consumed (or abandoned) before the next group is requested, and `see` is called on each item as it is
 * consumed (no extra generator layer per object for counting). Connectors yield an object's content
 * together; an object that reappears later is a connector bug, reported as INTERNAL.
 */
export async function* splitByObject<T extends { objectId: string }>(
  source: AsyncIterable<T>,
  see?: (item: T) => void,
): AsyncGenerator<{ objectId: string; items: AsyncIterable<T> }> {
  const iterator = source[Symbol.asyncIterator]();
  const finished = new Set<string>();
  try {
    let next = await iterator.next();
    while (!next.done) {
      const objectId = next.value.objectId;
      if (finished.has(objectId)) {
        throw new PlatformError(`connector yielded content of ${objectId} out of order`, ErrorType.INTERNAL, {
          objectId,
        });
      }
      const items = (async function* () {
        while (!next.done && next.value.objectId === objectId) {
          const item = next.value;
          next = await iterator.next();
          see?.(item);
          yield item;
        }
      })();
      yield { objectId, items };
      // Skip whatever the consumer left of this object.
      while (!next.done && next.value.objectId === objectId) next = await iterator.next();
      finished.add(objectId);
    }
  } finally {
    await iterator.return?.();
  }
}
