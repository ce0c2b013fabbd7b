/** Connects to Temporal with a short timeout and a clear message when it is not there. */
import { Client, Connection } from '@temporalio/client';
import type { Settings } from './settings';
import { unreachableError } from './exit-codes';

export interface TemporalSession {
  client: Client;
  connection: Connection;
  close(): Promise<void>;
}

/** Default 10 s: long enough for a remote or busy cluster, short enough that a typo fails fast. */
export async function connectTemporal(
  settings: Settings,
  connectTimeoutMs = 10_000,
): Promise<TemporalSession> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: settings.temporalAddress,
      connectTimeout: connectTimeoutMs,
    });
  } catch (err) {
    throw unreachableError(
      `cannot reach Temporal at ${settings.temporalAddress} (from ${settings.sources.temporalAddress}): is \`assay dev\` or your cluster running? Set TEMPORAL_ADDRESS to change it`,
      err,
    );
  }
  const client = new Client({ connection, namespace: settings.namespace });
  return { client, connection, close: () => connection.close() };
}

/** Runs a call with a gRPC deadline (queries wait for a worker; never hang the CLI forever). */
export function withDeadline<T>(session: TemporalSession, ms: number, fn: () => Promise<T>): Promise<T> {
  return session.connection.withDeadline(Date.now() + ms, fn);
}
