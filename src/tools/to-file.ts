// `nsq to-file` (nsq_to_file): one file logger per topic, SIGHUP to rotate, SIGTERM/SIGINT to
// finish what is held, close and move the files, and exit 0.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { lookupTopics } from '../client/discovery.js';
import { useTlsForHttps } from '../client/http.js';
import { UserError } from '../util/errors.js';
import { Logger } from '../util/log.js';
import { FileLogger } from './to-file/file-logger.js';
import { makeDirs } from './to-file/output-file.js';
import { filenameTemplate, type ToFileOptions } from './to-file/options.js';

const WHY: Record<string, string> = {
  ENOTDIR: 'a path component is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EEXIST: 'exists and is not a directory',
  ENOENT: 'no such directory, and it cannot be created there',
};

/** Creates `dir` if needed and proves a file can be made in it: at start, as a one-line error. */
async function writableDir(dir: string, flag: string): Promise<void> {
  try {
    await makeDirs(dir);
    const st = await fsp.stat(dir);
    if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    // access(W_OK) says yes to root almost anywhere (/proc, /sys): create a file instead
    const probe = join(dir, `.nsq_to_file-probe-${process.pid}`);
    try {
      const fh = await fsp.open(probe, 'wx', 0o600);
      await fh.close();
      await fsp.unlink(probe);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const why = code === 'ENOENT' ? 'the filesystem refuses new files' : (WHY[code] ?? (err as Error).message);
      throw Object.assign(new Error(`no file can be created in it (${why})`), { code: 'E_PROBE' });
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`cannot write to ${flag} ${dir}: ${WHY[e.code ?? ''] ?? e.message}`, 'E_BAD_DIR', 1);
  }
}

export async function runToFile(opts: ToFileOptions): Promise<void> {
  const { client, transport } = opts;
  await useTlsForHttps(transport);
  const logger = new Logger(opts.logLevel, opts.logPrefix);
  await writableDir(opts.outputDir, '--output-dir');
  if (opts.workDir !== opts.outputDir) await writableDir(opts.workDir, '--work-dir');

  let fail!: (err: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const makeLogger = (topic: string): FileLogger =>
      new FileLogger({
        opts,
        topic,
        template: filenameTemplate(opts, topic),
        nsqdTcpAddresses: client.nsqdTcpAddresses,
        lookupdHttpAddresses: client.lookupdHttpAddresses,
        lookupdPollInterval: client.lookupdPollInterval,
        userAgent: client.userAgent,
        transport,
        authSecret: client.authSecret,
        logger,
        onFatal: (err) => fail(new UserError(err.message, 'E_WRITE', 1)),
      });
  const loggers = opts.topics.map(makeLogger);
  const followed = new Set(opts.topics);

  // signals are handled before connecting: an early SIGHUP must not kill the process
  let stopRequested!: (sig: NodeJS.Signals) => void;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (stopRequested = resolve));
  let stopping = false;
  const onStop = (sig: NodeJS.Signals): void => {
    if (stopping) {
      // a second signal while finishing: leave now; unFINed messages go back to nsqd
      logger.warn(`received ${sig} again, exiting without finishing`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`received ${sig}, finishing in-flight messages and closing files`);
    stopRequested(sig);
  };
  const onHup = (): void => {
    logger.info('received SIGHUP, rotating files');
    for (const l of loggers) l.hup();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  const cleanup = (): void => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  };
  failed.catch(() => {});

  try {
    let undoStart: (() => Promise<void>) | null = null;
    if (opts.from !== null) {
      const { createChannelsFrom } = await import('./replay-start.js');
      const { warnings, undo } = await createChannelsFrom({
        topics: opts.topics,
        channel: opts.channel,
        from: opts.from,
        nsqdHttpAddresses: client.nsqdHttpAddresses,
        lookupdHttpAddresses: client.lookupdHttpAddresses,
        authSecret: client.authSecret,
        flag: '--from',
      });
      for (const w of warnings) logger.warn(w);
      undoStart = undo;
    }
    const started = await Promise.allSettled(loggers.map((l) => l.start()));
    const refused = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused !== undefined) {
      await Promise.all(loggers.map((l) => l.stop()));
      // the channels it created for --from would hold the journal with nobody reading them
      await undoStart?.();
      const err = refused.reason as Error;
      throw new UserError(err.message, 'E_CONNECT', 1);
    }
    let refresh: NodeJS.Timeout | null = null;
    if (opts.topicPattern !== null) {
      // --topic-pattern: topics appear in lookupd over time; each new match gets its own files
      const pattern = opts.topicPattern;
      const look = async (): Promise<void> => {
        for (const topic of await lookupTopics(client.lookupdHttpAddresses, opts.lookupdTimeout)) {
          if (stopping || followed.has(topic) || !pattern.test(topic)) continue;
          followed.add(topic);
          logger.info(`[${topic}/${opts.channel}] topic matches --topic-pattern, following it`);
          const l = makeLogger(topic);
          loggers.push(l);
          l.start().catch((err: Error) => logger.error(`[${topic}/${opts.channel}] ${err.message}`));
        }
      };
      const tick = (): void => {
        refresh = setTimeout(() => void look().catch((err: Error) => logger.warn(`lookupd: ${err.message}`)).finally(tick), opts.topicRefresh);
      };
      await look().catch((err: Error) => logger.warn(`lookupd: ${err.message}`));
      tick();
    }
    await Promise.race([stopSignal, failed]);
    if (refresh !== null) clearTimeout(refresh);
    await Promise.race([Promise.all(loggers.map((l) => l.stop())), failed]);
    logger.info('done');
  } finally {
    cleanup();
  }
}
