/**
 * `assay classify [PATH…|-]`: classifies local files, directories (walked recursively) or stdin and
 * prints findings, without Temporal. Findings carry masked values and fingerprints only.
 */

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { PlatformError } from '../core/errors';
import { ContentExtractor } from '../extraction';
import { LIKELIHOODS, createLocalClassifier, type Finding, type Likelihood } from '../classification';
import { CliError, EXIT, usageError } from './exit-codes';

export interface ClassifyIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin?: Readable;
  /** Sets the process exit code (default: process.exitCode). */
  setExitCode?: (code: number) => void;
}

interface ClassifyFlags {
  format: string;
  minLikelihood: string;
  detectors?: string;
  config?: string;
  failOnFindings?: boolean;
}

async function* walk(target: string): AsyncIterable<string> {
  let info;
  try {
    info = await stat(target);
  } catch (error) {
    throw usageError(
      `cannot read ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (!info.isDirectory()) {
    yield target;
    return;
  }
  const entries = await readdir(target, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const child = path.join(target, entry.name);
    if (entry.isDirectory()) yield* walk(child);
    else if (entry.isFile()) yield child;
  }
}

function tableLine(filePath: string, finding: Finding): string {
  const where = finding.column !== undefined ? `${finding.column}[${finding.row}]` : `${finding.line}`;
  const inner = finding.componentPath !== filePath ? ` (${finding.componentPath})` : '';
  return `${filePath}:${where}${inner}  ${finding.infoType}  ${finding.likelihood}  ${finding.masked}\n`;
}

export async function runClassify(
  targets: string[],
  flags: ClassifyFlags,
  io: ClassifyIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
): Promise<number> {
  if (!['jsonl', 'table'].includes(flags.format)) throw usageError(`--format must be jsonl or table`);
  const minLikelihood = flags.minLikelihood.toUpperCase() as Likelihood;
  if (!LIKELIHOODS.includes(minLikelihood))
    throw usageError(`--min-likelihood must be one of ${LIKELIHOODS.join(', ')}`);
  let classifier;
  try {
    classifier = await createLocalClassifier({
      minLikelihood,
      detectors: flags.detectors
        ? flags.detectors
            .split(',')
            .map((d) => d.trim())
            .filter(Boolean)
        : undefined,
      configFile: flags.config,
      maxFindingsPerObject: Number.MAX_SAFE_INTEGER,
    });
  } catch (error) {
    if (error instanceof PlatformError) throw usageError(error.message, error);
    throw error;
  }
  const extractor = new ContentExtractor();
  let total = 0;
  const emit = (filePath: string, findings: Finding[]): void => {
    for (const finding of findings) {
      total++;
      if (flags.format === 'jsonl') io.stdout.write(`${JSON.stringify({ path: filePath, ...finding })}\n`);
      else io.stdout.write(tableLine(filePath, finding));
    }
  };
  const warn = (
    filePath: string,
    failures: Array<{ componentPath: string; type: string; message: string }>,
  ) => {
    for (const f of failures)
      io.stderr.write(`assay: ${filePath}: ${f.componentPath}: ${f.type}: ${f.message}\n`);
  };
  try {
    for (const target of targets.length ? targets : ['-']) {
      if (target === '-') {
        const stdin = io.stdin ?? process.stdin;
        const result = await classifier.classifyComponents(
          'stdin:-',
          extractor.extractFromStream(stdin, 'stdin:-', { componentPath: '-' }),
        );
        emit('-', result.findings);
        warn('-', result.failures);
        continue;
      }
      for await (const file of walk(target)) {
        const objectId = `file:${file}`;
        const result = await classifier.classifyComponents(
          objectId,
          extractor.extractFromFile(file, objectId, { componentPath: file }),
        );
        emit(file, result.findings);
        warn(file, result.failures);
      }
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof PlatformError)
      throw new CliError(error.message, EXIT.FINDINGS_OR_FAILED, { cause: error });
    throw error;
  } finally {
    await classifier.close();
  }
  return flags.failOnFindings && total > 0 ? EXIT.FINDINGS_OR_FAILED : EXIT.OK;
}

export function registerClassifyCommand(program: Command, io?: ClassifyIo): Command {
  return program
    .command('classify')
    .description('Classify local files, directories (recursively) or stdin (-) and print findings')
    .argument('[paths...]', 'files or directories; - for stdin (default: -)')
    .option('--format <format>', 'output format: jsonl or table', 'table')
    .option(
      '--min-likelihood <likelihood>',
      `lowest likelihood reported (${LIKELIHOODS.join(', ')})`,
      'POSSIBLE',
    )
    .option('--detectors <list>', 'comma-separated detector ids or infoTypes (default: all built-ins)')
    .option('--config <file>', 'custom detectors and allow/deny lists (JSON or YAML)')
    .option('--fail-on-findings', 'exit 1 when anything is found')
    .action(async (paths: string[], flags: ClassifyFlags) => {
      const code = await runClassify(paths, flags, io);
      if (io?.setExitCode) io.setExitCode(code);
      else if (code !== 0) process.exitCode = code;
    });
}
