/**
 * Loader for the project's native addons (native/*.cc), built by `npm run build:native` (part of
 * `npm run setup`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from './errors';

const loaded = new Map<string, unknown>();

/** The addon `native/build/Release/<name>.node`, found above this file (ts-node or compiled dist/). */
export function loadAddon<T>(name: string): T {
  const cached = loaded.get(name);
  if (cached) return cached as T;
  const addon = path.join('native', 'build', 'Release', `${name}.node`);
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, addon);
    if (existsSync(candidate)) {
      const module = require(candidate) as T;
      loaded.set(name, module);
      return module;
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new ConfigurationError(`the native addon ${addon} is not built: run \`npm run setup\``, { addon });
}
