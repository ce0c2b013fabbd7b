/** Helpers every connector test shares: work packets for one datasource and collecting async iterables. */
import type { WorkPacket, WorkPacketOptions } from '../../src/core/models';

/** `packet(objectIds, options, cursor)` for one datasource. */
export function packetFactory(
  datasourceId: string,
): (
  objectIds?: string[],
  options?: WorkPacketOptions,
  cursor?: WorkPacket['payload']['cursor'],
) => WorkPacket {
  return (objectIds = [], options = {}, cursor) => ({
    header: { taskId: 't', traceId: 'tr', scanId: 's', datasourceId },
    payload: { objectIds, options, ...(cursor ? { cursor } : {}) },
  });
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
