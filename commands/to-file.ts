// `nsq to-file`: placeholder until its implementation lands in this session.

import type { CommandModule } from 'yargs';
import { UserError } from '../src/util/errors.js';

export const toFile: CommandModule = {
  command: 'to-file',
  describe: false,
  handler: () => {
    throw new UserError('to-file is not implemented yet');
  },
};
