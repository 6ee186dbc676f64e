// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (file descriptors 3 and 4,
// JSON messages ended by a NUL byte), so the browser check needs no WebSocket and no driver
// package: send(method, params, session) resolves with the result; events go to `on`.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface CdpEvent {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly sessionId?: string;
}

export class Cdp {
  private id = 0;
  private readonly pending = new Map<
    number,
    { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }
  >();
  private buf = '';
  private readonly listeners: ((e: CdpEvent) => void)[] = [];
  readonly proc: ChildProcess;
  private readonly out: Writable;

  constructor(binary: string, args: readonly string[]) {
    this.proc = spawn(binary, [...args, '--remote-debugging-pipe'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    this.out = this.proc.stdio[3] as Writable;
    const input = this.proc.stdio[4] as Readable;
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => this.data(chunk));
    this.proc.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`browser exited (${code}) during ${p.method}`));
      this.pending.clear();
    });
  }

  /** The browser's stderr (its own log lines). */
  get stderr(): Readable {
    return this.proc.stderr!;
  }

  on(f: (e: CdpEvent) => void): void {
    this.listeners.push(f);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  /** Resolves with the first event named `method` (of `sessionId`) after the call. */
  wait(method: string, sessionId?: string, timeoutMs = 30_000): Promise<CdpEvent> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
      this.on((e) => {
        if (e.method === method && (sessionId === undefined || e.sessionId === sessionId)) {
          clearTimeout(t);
          resolve(e);
        }
      });
    });
  }

  /** Ends the browser and waits until it has exited (its profile folder is then free to remove). */
  close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill();
    return exited;
  }

  private data(chunk: string): void {
    this.buf += chunk;
    let end: number;
    while ((end = this.buf.indexOf('\0')) >= 0) {
      const msg = JSON.parse(this.buf.slice(0, end)) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
        sessionId?: string;
      };
      this.buf = this.buf.slice(end + 1);
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p?.resolve(msg.result ?? {});
      } else if (msg.method) {
        const e: CdpEvent = { method: msg.method, params: msg.params ?? {}, ...(msg.sessionId ? { sessionId: msg.sessionId } : {}) };
        for (const l of this.listeners) l(e);
      }
    }
  }
}
