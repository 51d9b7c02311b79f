// `nsq topic create|delete|pause|unpause|empty <topic>`: nsqd's topic routes on one node or every
// node lookupd knows. Flags and subcommands are built in admin.ts; the work is src/tools/admin.ts.

import { adminCommand } from './admin.js';

export const topic = adminCommand('topic');
