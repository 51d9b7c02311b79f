// `nsq pub`: placeholder until its implementation lands in this session.

import type { CommandModule } from 'yargs';
import { UserError } from '../src/util/errors.js';

export const pub: CommandModule = {
  command: 'pub',
  describe: false,
  handler: () => {
    throw new UserError('pub is not implemented yet');
  },
};
