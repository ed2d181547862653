import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolError } from '../../../tools/errors';
import { NOTIFY_CONTENT_TYPE, replayNotify } from '../../../tools/replay-notify';

interface Received {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

/** A notify endpoint on 127.0.0.1, port chosen by the OS, answering `answer` and recording the request. */
async function endpoint(answer: {
  status: number;
  body: string;
}): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { 'content-type': 'application/json;charset=utf-8' }).end(answer.body);
    });
  });
  await new Promise<void>((ready) => server?.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/lianlian/notify`, received };
}

// Odd spacing, key order and Chinese text: anything but these exact bytes would be a different message.
const RAW = Buffer.from(
  '{"oid_partner":"201408071000001543", "sign_type":"RSA","no_order":"P1","money_order":"10.00",' +
    '"result_pay":"SUCCESS","info_order":"工资 ","sign":"a+b/c=="}\n',
  'utf8',
);

describe('replay-notify', () => {
  it('posts the stored body byte for byte as text/json;charset=utf-8', async () => {
    const { url, received } = await endpoint({
      status: 200,
      body: '{"ret_code":"0000","ret_msg":"交易成功"}',
    });

    const result = await replayNotify({ url, body: RAW });

    expect(received).toHaveLength(1);
    expect(received[0]?.method).toBe('POST');
    expect(received[0]?.url).toBe('/v1/lianlian/notify');
    expect(received[0]?.headers['content-type']).toBe(NOTIFY_CONTENT_TYPE);
    expect(received[0]?.body.equals(RAW)).toBe(true);
    expect(result).toMatchObject({
      status: 200,
      body: '{"ret_code":"0000","ret_msg":"交易成功"}',
      acknowledged: true,
    });
  });

  it('reports a non-0000 answer as not acknowledged', async () => {
    const { url } = await endpoint({ status: 200, body: '{"ret_code":"9999","ret_msg":"验签失败"}' });

    const result = await replayNotify({ url, body: RAW });

    expect(result.acknowledged).toBe(false);
    expect(result.body).toContain('9999');
  });

  it('reports an HTTP error as not acknowledged', async () => {
    const { url } = await endpoint({ status: 503, body: '{"ret_code":"0000"}' });

    expect((await replayNotify({ url, body: RAW })).acknowledged).toBe(false);
  });

  it('refuses a URL that is not http(s)', async () => {
    await expect(replayNotify({ url: 'ftp://example.com/x', body: RAW })).rejects.toThrow(ToolError);
    await expect(replayNotify({ url: 'not a url', body: RAW })).rejects.toThrow(ToolError);
  });
});
