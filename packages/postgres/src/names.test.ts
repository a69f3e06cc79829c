import { isYStateError } from '@ystate/core';
import { describe, expect, it } from 'vitest';
import { channelName, storeTables } from './names.js';

describe('store names', () => {
  it('quote schema-qualified tables', () => {
    const tables = storeTables('Tenant_1', 'app_');
    expect(tables.entries).toBe('"Tenant_1"."app_entries"');
    expect(tables.migrations).toBe('"Tenant_1"."app_migrations"');
    expect(storeTables().heads).toBe('"public"."ystate_heads"');
    expect(storeTables('public', '').checkpoints).toBe('"public"."checkpoints"');
  });

  it('refuse names that are not plain identifiers or would be truncated', () => {
    for (const [schema, prefix] of [
      ['a-b', 'x_'],
      ['', 'x_'],
      ['s'.repeat(64), 'x_'],
      ['public', 'x"; DROP TABLE y; --'],
      ['public', '9x'],
      ['public', 'p'.repeat(53)],
    ] as const) {
      let error: unknown;
      try {
        storeTables(schema, prefix);
      } catch (caught) {
        error = caught;
      }
      expect(isYStateError(error, 'INVALID_CONFIG'), `${schema} / ${prefix}`).toBe(true);
    }
    expect(() => storeTables('public', 'p'.repeat(52))).not.toThrow();
  });

  it('give every (store, kind, document) its own short, lower-case channel', () => {
    const tables = storeTables();
    const names = [
      channelName(tables, 'entries', 'projects/42'),
      channelName(tables, 'entries', 'projects/4'),
      channelName(tables, 'signals', 'projects/42'),
      channelName(storeTables('public', 'other_'), 'entries', 'projects/42'),
      channelName(storeTables('other', 'ystate_'), 'entries', 'projects/42'),
      channelName(tables, 'entries', 'x'.repeat(10_000)),
    ];
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^ys_[es]_[0-9a-f]{32}$/);
    expect(channelName(tables, 'entries', 'projects/42')).toBe(names[0]);
  });
});
