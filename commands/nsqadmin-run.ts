// `nsq admin`: run the admin server in the foreground until SIGINT/SIGTERM.

import { AdminServer, type AdminServerOptions } from '../src/admin/server.js';

export async function runAdmin(options: AdminServerOptions): Promise<void> {
  const server = new AdminServer(options);
  await server.start();
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      server.logger.info(`received ${sig}, shutting down`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      server.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
