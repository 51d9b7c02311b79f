// Every subcommand of `nsq`, in the order --help lists them.

import type { CommandModule } from 'yargs';
import { admin } from './nsqadmin.js';
import { bench } from './bench.js';
import { channel } from './channel.js';
import { completion } from './completion.js';
import { lookupd } from './lookupd.js';
import { ls } from './ls.js';
import { peek } from './peek.js';
import { redrive } from './redrive.js';
import { pub } from './pub.js';
import { serve } from './serve.js';
import { tail } from './tail.js';
import { toFile } from './to-file.js';
import { toHttp } from './to-http.js';
import { toNsq } from './to-nsq.js';
import { top } from './top.js';
import { topic } from './topic.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [serve, lookupd, pub, tail, toFile, toHttp, toNsq, top, admin, ls, peek, redrive, topic, channel, bench, completion];
