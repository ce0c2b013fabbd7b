import { createWorker } from '/work/main/src/worker';
import { ScanEngine } from '/work/main/src/classification/engine';
const engine = new ScanEngine({ minLikelihood: 'POSSIBLE', config: { detectors: [], allowList: [], denyList: [] } }, Buffer.alloc(32));
const classifier = {
  rulesetVersion: 'stub',
  async classifyComponents(objectId: string, components: any) {
    const findings: any[] = []; const counts: Record<string, number> = {}; let bytes = 0;
    for await (const c of components) {
      const text = c.text ?? (c.rows ?? []).map((r: unknown[]) => r.join(' ')).join('\n');
      bytes += text.length;
      for (const f of engine.scanText(text, { componentPath: c.componentPath }).findings) { findings.push(f); counts[f.infoType] = (counts[f.infoType] ?? 0) + 1; }
    }
    return { objectId, findings, findingCounts: counts, columns: [], failures: [], bytesScanned: bytes };
  },
  async classifyRows() { return []; },
};
(async () => {
  const w = await createWorker({ address: process.argv[2], taskQueue: 'assay', databaseUrl: process.argv[3], classifier });
  console.log('stub worker ready');
  process.on('SIGTERM', () => w.worker.shutdown());
  await w.worker.run(); await w.close();
})();
