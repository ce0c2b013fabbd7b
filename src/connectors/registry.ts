import type { ZodType } from 'zod';
import { ConfigurationError } from '../core/errors';
import type { ConnectorDependencies, DataSourceConnector } from '../core/interfaces';
import { filesystemConnector } from './filesystem';
import { s3Connector } from './s3';
import { postgresConnector } from './postgres';
import { mysqlConnector } from './mysql';

/** How the system knows a connector type: its config schema and its factory. */
export interface ConnectorDefinition<Config> {
  type: string;
  /** Validates the JSON config a workflow input carries (secrets only by name). */
  configSchema: ZodType<Config>;
  create(deps: ConnectorDependencies<Config>): DataSourceConnector;
}

const definitions = new Map<string, ConnectorDefinition<unknown>>();

export function registerConnector<Config>(definition: ConnectorDefinition<Config>): void {
  definitions.set(definition.type, definition as ConnectorDefinition<unknown>);
}

for (const definition of [filesystemConnector, s3Connector, postgresConnector, mysqlConnector]) {
  registerConnector(definition as ConnectorDefinition<unknown>);
}

export function connectorTypes(): string[] {
  return [...definitions.keys()].sort();
}

/** Validates `config` for `type`; the message names every bad field. */
export function validateConnectorConfig(type: string, config: unknown): unknown {
  const definition = definitions.get(type);
  if (!definition) {
    throw new ConfigurationError(
      `datasource.type: unknown connector type "${type}" (known: ${connectorTypes().join(', ')})`,
      {
        field: 'datasource.type',
      },
    );
  }
  const parsed = definition.configSchema.safeParse(config);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `datasource.config.${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ConfigurationError(`invalid ${type} config: ${problems.join('; ')}`, {
      field: problems[0]?.split(':')[0],
    });
  }
  return parsed.data;
}

/** Creates a connector from a raw (unvalidated) config. */
export function createConnector(
  type: string,
  deps: Omit<ConnectorDependencies<unknown>, 'config'> & { config: unknown },
): DataSourceConnector {
  const config = validateConnectorConfig(type, deps.config);
  return (definitions.get(type) as ConnectorDefinition<unknown>).create({ ...deps, config });
}
