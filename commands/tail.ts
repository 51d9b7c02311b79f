// `nsq tail`: placeholder until its implementation lands in this session.

import type { CommandModule } from 'yargs';
import { UserError } from '../src/util/errors.js';

export const tail: CommandModule = {
  command: 'tail',
  describe: false,
  handler: () => {
    throw new UserError('tail is not implemented yet');
  },
};
