/**
 * Content thread (a piscina worker): reads and classifies one chunk of a file source's objects, so that reading,
 * extraction and classification leave the worker's main thread (which keeps Temporal, the store and heartbeats).
 */
import { classifierFromThreadInit, type Classifier } from '../src/classification';
import { createConnector } from '../src/connectors/registry';
import { ErrorHandler } from '../src/core/error-handler';
import { PlatformError } from '../src/core/errors';
import type { DataSourceConnector } from '../src/core/interfaces';
import { SystemLogger } from '../src/core/logger';
import { readAndClassify, type ContentOutcome } from './content';
import type { ContentChunk, ContentChunkResult } from './content-pool';

const logger = new SystemLogger({ base: { component: 'content-thread' } });
const errorHandler = new ErrorHandler();
/**
 * Classifiers built on this thread, by ruleset, key and detail cap (a scan that selects detectors has its own),
 * least recently used first.
 */
const classifiers = new Map<string, Classifier>();
/** Most classifiers a thread keeps: each holds its compiled detectors, and selections can be many. */
export const MAX_THREAD_CLASSIFIERS = 8;

/** The classifier for a chunk (exported for tests). */
export function classifierFor(chunk: ContentChunk): Classifier {
  const key = `${chunk.classifier.keyHex}:${JSON.stringify(chunk.classifier.spec)}:${chunk.classifier.maxFindings}`;
  let classifier = classifiers.get(key);
  if (classifier) classifiers.delete(key);
  else {
    classifier = classifierFromThreadInit(chunk.classifier);
    // One chunk at a time per thread: the one dropped is not in use.
    if (classifiers.size >= MAX_THREAD_CLASSIFIERS) classifiers.delete(classifiers.keys().next().value!);
  }
  classifiers.set(key, classifier);
  return classifier;
}

export default async function readChunk(chunk: ContentChunk): Promise<ContentChunkResult> {
  // The activity's log context as plain fields: an ambient context here would run promise hooks on every await.
  const chunkLogger = logger.child(chunk.logContext);
  const outcomes: ContentOutcome[] = [];
  let connector: DataSourceConnector | undefined;
  try {
    connector = createConnector(chunk.datasource.type, {
      datasourceId: chunk.datasource.id,
      logger: chunkLogger,
      errorHandler,
      config: chunk.datasource.config,
    });
    await readAndClassify(chunk.objectIds, {
      connector,
      classifier: classifierFor(chunk),
      errorHandler,
      packet: (objectIds) => ({ header: chunk.header, payload: { objectIds, options: chunk.options } }),
      emit: (outcome) => {
        outcomes.push(outcome);
      },
    });
    return { outcomes };
  } catch (err) {
    const platform = err instanceof PlatformError ? err : errorHandler.wrap(err, {}, 'read content');
    chunkLogger.debug('content chunk failed', { errorType: platform.type });
    return { outcomes, error: { type: platform.type, message: platform.message, context: platform.context } };
  } finally {
    await connector
      ?.close()
      .catch((err) => chunkLogger.warn('connector close failed', { error: String(err) }));
  }
}
