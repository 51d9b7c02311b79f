// Every subcommand of `nsq`, in the order --help lists them.

import type { CommandModule } from 'yargs';
import { serve } from './serve.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [serve];
