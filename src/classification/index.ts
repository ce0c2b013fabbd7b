/**
 * Classification engine: finds sensitive data in text, tables and database rows.
 *
 * `createClassifier()` runs the scanning in a worker-thread pool (for activities: the event loop stays
 * free); `createLocalClassifier()` scans on the calling thread (CLI, small inputs, the pool workers).
 */

import type { ContentComponent, DatabaseRow } from '../core/models';
import { ClassifierCore, LocalBackend, type ScanBackend } from './classifier';
import { EMPTY_CONFIG, loadClassificationConfig } from './config';
import { BUILTIN_DETECTORS } from './detectors';
import {
  DEFAULT_MIN_LIKELIHOOD,
  ScanEngine,
  rulesetVersion,
  selectBuiltins,
  type RulesetSpec,
} from './engine';
import { resolveFingerprintKey } from './fingerprint';
import { PoolBackend, defaultPoolSize } from './pool';
import {
  LIKELIHOODS,
  type Finding,
  type InfoTypeCategory,
  type Likelihood,
  type ObjectClassification,
} from './types';
import { ConfigurationError } from '../core/errors';

export * from './types';
export { loadClassificationConfig, parseClassificationConfig, type ClassificationConfig } from './config';
export { BUILTIN_DETECTORS, type Detector } from './detectors';
export { ScanEngine, rulesetVersion, type RulesetSpec } from './engine';
export { resolveFingerprintKey, fingerprinter, mask, FINGERPRINT_KEY_ENV } from './fingerprint';

export interface ClassifierOptions {
  /** Detector ids or infoTypes to enable. Default: every built-in detector. */
  detectors?: string[];
  /** Lowest likelihood reported. Default POSSIBLE. */
  minLikelihood?: Likelihood;
  /** Custom detectors and allow/deny lists (JSON or YAML). Default none. */
  configFile?: string;
  /** Fingerprint key (hex or text, or bytes). Default: `ASSAY_FINGERPRINT_KEY`, else the key file. */
  fingerprintKey?: string | Buffer;
  /** Key file, created with 32 random bytes (0600) on first use. Default `.assay/fingerprint.key`. */
  fingerprintKeyFile?: string;
  /** Findings kept in detail per object (counts stay exact). Default 1000. */
  maxFindingsPerObject?: number;
  /** Worker threads for `createClassifier`. Default: cores − 1, at least 1. */
  poolSize?: number;
  /**
   * For `createClassifier`: when set, its threads exit after this many ms without work and start again when work
   * comes (for classifiers that may sit unused, such as a worker's per-scan selections). Default: unset, the
   * threads stay.
   */
  idleThreadTimeoutMs?: number;
}

/** What another thread needs to classify exactly as a classifier does (its fingerprint key included). */
export interface ClassifierThreadInit {
  spec: RulesetSpec;
  keyHex: string;
  maxFindings: number;
}

export interface Classifier {
  /** Stable hash of detector ids+versions, custom config and minLikelihood. */
  readonly rulesetVersion: string;
  /** Rebuilds this classifier on a worker thread (`classifierFromThreadInit`); never logged or persisted. */
  readonly threadInit: ClassifierThreadInit;
  readonly detectorIds: string[];
  /** Consumes an object's components (text chunks, tables, error components). */
  classifyComponents(
    objectId: string,
    components: AsyncIterable<ContentComponent>,
  ): Promise<ObjectClassification>;
  /** Database rows of one or more tables (grouped by objectId); column-level results per table. */
  classifyRows(rows: AsyncIterable<DatabaseRow>): Promise<ObjectClassification[]>;
  /** Plain text convenience (CLI, tests): every finding, uncapped. */
  classifyText(text: string, componentPath?: string): Promise<Finding[]>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_FINDINGS_PER_OBJECT = 1000;

class ClassifierImpl implements Classifier {
  private readonly core: ClassifierCore;
  readonly detectorIds: string[];

  constructor(
    private readonly backend: ScanBackend,
    spec: RulesetSpec,
    readonly rulesetVersion: string,
    detectorIds: string[],
    readonly threadInit: ClassifierThreadInit,
  ) {
    this.core = new ClassifierCore(backend, spec, threadInit.maxFindings);
    this.detectorIds = detectorIds;
  }

  classifyComponents(
    objectId: string,
    components: AsyncIterable<ContentComponent>,
  ): Promise<ObjectClassification> {
    return this.core.classifyComponents(objectId, components);
  }

  classifyRows(rows: AsyncIterable<DatabaseRow>): Promise<ObjectClassification[]> {
    return this.core.classifyRows(rows);
  }

  classifyText(text: string, componentPath?: string): Promise<Finding[]> {
    return this.core.classifyText(text, componentPath);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

async function prepare(
  options: ClassifierOptions,
): Promise<{ spec: RulesetSpec; key: Buffer; engine: ScanEngine; version: string }> {
  const minLikelihood = options.minLikelihood ?? DEFAULT_MIN_LIKELIHOOD;
  if (!LIKELIHOODS.includes(minLikelihood)) {
    throw new ConfigurationError(`minLikelihood must be one of ${LIKELIHOODS.join(', ')}`, { minLikelihood });
  }
  const config = options.configFile ? await loadClassificationConfig(options.configFile) : EMPTY_CONFIG;
  const spec: RulesetSpec = { detectors: options.detectors, minLikelihood, config };
  const key = await resolveFingerprintKey(options);
  // Building the engine here validates the whole ruleset before any worker starts.
  const engine = new ScanEngine(spec, key);
  return { spec, key, engine, version: rulesetVersion(spec) };
}

/** A classifier whose scanning runs in a worker-thread pool. */
export async function createClassifier(options: ClassifierOptions = {}): Promise<Classifier> {
  const { spec, key, engine, version } = await prepare(options);
  const init = threadInit(spec, key, options);
  const backend = new PoolBackend(
    { spec, keyHex: init.keyHex },
    options.poolSize ?? defaultPoolSize(),
    options.idleThreadTimeoutMs,
  );
  const ids = engine.detectors.map((d) => d.id);
  return new ClassifierImpl(backend, spec, version, ids, init);
}

/** A classifier that scans on the calling thread. */
export async function createLocalClassifier(options: ClassifierOptions = {}): Promise<Classifier> {
  const { spec, key, engine, version } = await prepare(options);
  const ids = engine.detectors.map((d) => d.id);
  return new ClassifierImpl(new LocalBackend(engine), spec, version, ids, threadInit(spec, key, options));
}

/** The same classifier as the one `init` came from, scanning on the calling thread (a worker thread's). */
export function classifierFromThreadInit(init: ClassifierThreadInit): Classifier {
  const engine = new ScanEngine(init.spec, Buffer.from(init.keyHex, 'hex'));
  const ids = engine.detectors.map((d) => d.id);
  return new ClassifierImpl(new LocalBackend(engine), init.spec, rulesetVersion(init.spec), ids, init);
}

function threadInit(spec: RulesetSpec, key: Buffer, options: ClassifierOptions): ClassifierThreadInit {
  return {
    spec,
    keyHex: key.toString('hex'),
    maxFindings: options.maxFindingsPerObject ?? DEFAULT_MAX_FINDINGS_PER_OBJECT,
  };
}

export function listDetectors(): Array<{
  id: string;
  infoType: string;
  category: InfoTypeCategory;
  version: string;
  description: string;
}> {
  return selectBuiltins().map((d) => ({
    id: d.id,
    infoType: d.infoType,
    category: d.category,
    version: d.version,
    description: d.description,
  }));
}

export const BUILTIN_DETECTOR_COUNT = BUILTIN_DETECTORS.length;
