// `nsq channel create|delete|pause|unpause|empty <topic> <channel>`: nsqd's channel routes on one
// node or every node lookupd lists for the topic. Built in admin.ts; the work is src/tools/admin.ts.

import { adminCommand } from './admin.js';

export const channel = adminCommand('channel');
