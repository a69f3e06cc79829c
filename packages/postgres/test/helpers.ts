/** Shared pieces of the PostgreSQL tests: a server per file, unique schemas, stores closed after the file, waiting with a deadline. */

import { eventually, within } from '@ystate/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../src/index.js';
import { startTestPostgres, type TestPostgres } from '../src/testing/index.js';

/** A PostgreSQL started before the file's tests and removed after them. */
export function usePostgres(): () => TestPostgres {
  let postgres: TestPostgres | undefined;
  beforeAll(async () => {
    postgres = await startTestPostgres();
  });
  afterAll(async () => {
    await postgres?.close();
  });
  return () => {
    if (postgres === undefined) throw new Error('PostgreSQL is not started yet');
    return postgres;
  };
}

let schemas = 0;

/** A schema name no other test in this process uses, so tests on one server never see each other's rows. */
export function uniqueSchema(name = 't'): string {
  schemas += 1;
  return `${name}_${process.pid}_${schemas}`;
}

/** Opens stores on `postgres` and closes whatever is still open after the file. */
export function storeFactory(
  postgres: () => TestPostgres,
): (options?: PostgresStoreOptions) => Promise<PostgresStore> {
  const open: PostgresStore[] = [];
  afterAll(async () => {
    await Promise.all(open.map((store) => store.close()));
  });
  return async (options = {}) => {
    const store = await createPostgresStore({ connectionString: postgres().connectionString, ...options });
    open.push(store);
    return store;
  };
}

/** The integers from `first` to `last`, inclusive. */
export function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}

export { eventually, within };
