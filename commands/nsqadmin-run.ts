// `nsq admin`: run the admin server in the foreground until SIGINT/SIGTERM.

import { AdminServer, type AdminServerOptions } from '../src/admin/server.js';
import { untilSignal } from './until-signal.js';

export async function runAdmin(options: AdminServerOptions): Promise<void> {
  const server = new AdminServer(options);
  await server.start();
  await untilSignal(server.logger, () => server.stop());
}
