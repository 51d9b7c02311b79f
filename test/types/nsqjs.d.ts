// The part of nsqjs 0.13 (a CommonJS package without its own types) that the integration tests use.

declare module 'nsqjs' {
  import { EventEmitter } from 'node:events';

  namespace nsqjs {
    interface ConnectionOptions {
      clientId?: string;
      /** sent with AUTH when the server requires it */
      authSecret?: string;
      /** seconds */
      heartbeatInterval?: number;
      maxInFlight?: number;
      /** milliseconds, sent as IDENTIFY msg_timeout */
      messageTimeout?: number;
      outputBufferSize?: number;
      outputBufferTimeout?: number;
      /** milliseconds, the default for requeue() */
      requeueDelay?: number;
      sampleRate?: number;
      deflate?: boolean;
      snappy?: boolean;
      tls?: boolean;
      /** false: accept any server certificate */
      tlsVerification?: boolean;
      idleTimeout?: number;
    }

    interface ReaderOptions extends ConnectionOptions {
      nsqdTCPAddresses?: string | string[];
      lookupdHTTPAddresses?: string | string[];
      lookupdPollInterval?: number;
      maxAttempts?: number;
      /** seconds */
      maxBackoffDuration?: number;
      lowRdyTimeout?: number;
      name?: string;
    }

    class Message extends EventEmitter {
      /** the 16-character message ID */
      readonly id: string;
      /** publish time, nanoseconds since the epoch */
      readonly timestamp: bigint;
      readonly attempts: number;
      readonly body: Buffer;
      hasResponded: boolean;
      receivedOn: number;
      touchCount: number;
      finish(): void;
      /** delay in ms; backoff (default true) makes the Reader back off */
      requeue(delay?: number, backoff?: boolean): void;
      touch(): void;
      timeUntilTimeout(hard?: boolean): number | null;
    }

    class Reader extends EventEmitter {
      static readonly ERROR: 'error';
      static readonly MESSAGE: 'message';
      static readonly READY: 'ready';
      static readonly NOT_READY: 'not_ready';
      static readonly DISCARD: 'discard';
      static readonly NSQD_CONNECTED: 'nsqd_connected';
      static readonly NSQD_CLOSED: 'nsqd_closed';
      readonly topic: string;
      readonly channel: string;
      constructor(topic: string, channel: string, options: ReaderOptions);
      connect(): void;
      close(): void;
      pause(): void;
      unpause(): void;
      isPaused(): boolean;
    }

    type Body = string | Buffer | object;

    class Writer extends EventEmitter {
      static readonly READY: 'ready';
      static readonly CLOSED: 'closed';
      static readonly ERROR: 'error';
      ready: boolean;
      constructor(host: string, port: number, options?: ConnectionOptions);
      connect(): void;
      close(): void;
      /** one body is sent as PUB, an array of more than one as MPUB */
      publish(topic: string, msgs: Body | Body[], callback?: (err?: Error | null) => void): void;
      /** DPUB; nsqjs 0.13 needs the body wrapped in a one-element array */
      deferPublish(topic: string, msg: Body[], timeMs: number, callback?: (err?: Error | null) => void): void;
    }
  }

  export = nsqjs;
}
