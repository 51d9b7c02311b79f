// `nsq bench`: placeholder until its implementation lands in this session.

import type { CommandModule } from 'yargs';
import { UserError } from '../src/util/errors.js';

export const bench: CommandModule = {
  command: 'bench',
  describe: false,
  handler: () => {
    throw new UserError('bench is not implemented yet');
  },
};
