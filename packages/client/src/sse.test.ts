import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

const STREAM =
  ': keep-alive\n\nid: 1\ndata: {"a":1}\n\nevent: x\r\ndata: line one\r\ndata:line two\r\n\r\n' +
  'id: 7\rdata: {"b":2}\r\rdata: no id here\n\nid\ndata: cleared\n\n';

const EXPECTED = [
  { event: 'message', data: '{"a":1}', id: '1' },
  { event: 'x', data: 'line one\nline two', id: '1' },
  { event: 'message', data: '{"b":2}', id: '7' },
  { event: 'message', data: 'no id here', id: '7' },
  { event: 'message', data: 'cleared', id: '' },
];

describe('SseParser', () => {
  it('reads ids, events, multi-line data and comments with LF, CRLF and CR line ends', () => {
    expect(new SseParser().push(STREAM)).toEqual(EXPECTED);
  });

  it('gives the same events however the stream is cut into chunks', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      for (const size of [1, 2, 3]) {
        const parser = new SseParser();
        const events = [...parser.push(STREAM.slice(0, cut))];
        for (let at = cut; at < STREAM.length; at += size)
          events.push(...parser.push(STREAM.slice(at, at + size)));
        expect(events).toEqual(EXPECTED);
      }
    }
  });

  it('dispatches nothing for an event cut before its blank line', () => {
    expect(new SseParser().push('id: 3\ndata: {"partial"')).toEqual([]);
  });
});
