// The sandbox driver a server's configuration asks for: Docker-in-Docker, on labrun's sandbox engine
// (isolated, the default) or the host engine (trusted), keeping its state in `<data>/sandboxes`.
import path from 'node:path';
import type { ServerConfig } from '../config.ts';
import { DindDriver } from './dind.ts';

export function driverFromConfig(config: ServerConfig): DindDriver {
  const isolation = config.isolation ?? 'isolated';
  return new DindDriver({
    stateDir: path.join(config.dataDir, 'sandboxes'),
    limits: config.limits,
    isolation,
    ...(isolation === 'isolated' && { engineUrl: config.sandboxEngine }),
    ...(config.diskBytes !== undefined && { diskBytes: config.diskBytes }),
  });
}
