import { Agent, request } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../../functions/shared/http';
import { type LocalFront, type Routes, startLocalFront } from '../../../local/front';

/** The local HTTP front over fake routes: what it does with the connection, not what the handlers do. */

const ok = (body: unknown): APIGatewayProxyResult => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const routes: Routes = {
  apply: async (event) => ok({ route: 'apply', bytes: event.body?.length ?? 0 }),
  query: async (event) => ok({ route: 'query', no_order: event.pathParameters?.no_order }),
  notify: async () => ok({ route: 'notify' }),
  review: async () => ok({ route: 'review' }),
};

let front: LocalFront;
beforeAll(async () => {
  front = await startLocalFront(() => routes);
});
afterAll(async () => {
  await front?.close();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly socketId: number;
}

const socketIds = new WeakMap<object, number>();
let nextSocketId = 0;

/** One request on the given agent; the socket id shows whether the agent reused a connection. */
function send(
  agent: Agent,
  method: string,
  path: string,
  body?: Buffer,
  framing: 'length' | 'chunked' = 'length',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${front.url}${path}`, { method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const socket = req.socket as object;
        if (!socketIds.has(socket)) socketIds.set(socket, nextSocketId++);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          socketId: socketIds.get(socket) ?? -1,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body && framing === 'chunked') {
      // No content-length: the front only learns the size by reading.
      req.write(body);
      req.end();
    } else {
      if (body) req.setHeader('content-length', body.length);
      req.end(body);
    }
  });
}

describe('local front', () => {
  it.each([
    ['declared by content-length', MAX_BODY_BYTES * 4 + 1, 'length'],
    ['far beyond the limit', MAX_BODY_BYTES * 64, 'length'],
    ['chunked, found while reading', MAX_BODY_BYTES * 64, 'chunked'],
  ] as const)(
    'answers an oversized body (%s) with 413 and connection: close, and the next request on the keep-alive agent works',
    async (_, size, framing) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const tooLarge = await send(agent, 'POST', '/payouts', Buffer.alloc(size, 0x61), framing);
        expect(tooLarge.status).toBe(413);
        expect(tooLarge.headers.connection).toBe('close');
        expect(JSON.parse(tooLarge.body)).toEqual({
          error: { code: 'payload_too_large', message: expect.stringContaining('at most') },
        });

        const next = await send(agent, 'GET', '/payouts/ORDER1');
        expect(next.status).toBe(200);
        expect(JSON.parse(next.body)).toEqual({ route: 'query', no_order: 'ORDER1' });
        // The refused connection was not reused.
        expect(next.socketId).not.toBe(tooLarge.socketId);
      } finally {
        agent.destroy();
      }
    },
  );

  it('keeps a connection alive across ordinary requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(agent, 'POST', '/payouts', Buffer.from('{"a":1}'));
      const second = await send(agent, 'GET', '/payouts/ORDER2');
      expect(JSON.parse(first.body)).toEqual({ route: 'apply', bytes: 7 });
      expect(second.status).toBe(200);
      expect(second.socketId).toBe(first.socketId);
    } finally {
      agent.destroy();
    }
  });
});
