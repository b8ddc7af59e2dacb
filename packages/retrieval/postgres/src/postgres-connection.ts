import { BackendError, DecodingError, InvalidArgumentError } from '@decodekit/core';
import pg from 'pg';

/** How a PostgreSQL store reaches its database (shared by `postgresSparseStore` and `postgresDenseStore`). */
export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:5432/database` (libpq URL syntax; `?sslmode=require` etc. as pg reads it).
   * The store opens its own connection pool and ends it on `close()`. Give this or `pool`.
   */
  readonly connectionString?: string;
  /** A `pg.Pool` you own (e.g. one pool shared by a sparse and a dense store); `close()` leaves it open. */
  readonly pool?: pg.Pool;
  /**
   * Schema that holds the store's tables, created when missing: one schema is one index, so several
   * indexes share a database under different schemas. Default `'decodekit'`.
   */
  readonly schema?: string;
  /** Connections of the pool the store opens (ignored with `pool`). Default 10. */
  readonly maxConnections?: number;
}

/** A connection pool with the store's quoted schema, error wrapping and transactions. */
export interface PostgresConnection {
  /** The quoted schema name, safe to splice into SQL (`"decodekit"`). */
  readonly schema: string;
  /** Runs one parameterized statement on a pooled connection. */
  query<TRow extends pg.QueryResultRow>(
    what: string,
    text: string,
    values?: unknown[],
  ): Promise<TRow[]>;
  /** Runs `work` inside BEGIN … COMMIT on one connection; any throw rolls back and is rethrown. */
  transaction<TResult>(
    what: string,
    work: (client: pg.PoolClient) => Promise<TResult>,
  ): Promise<TResult>;
  /** Ends the pool when the store opened it; later calls throw. */
  close(): Promise<void>;
}

/** Wraps a driver error in a `BackendError` that says what failed and what to check. */
function wrap(what: string, error: unknown): unknown {
  if (DecodingError.isInstance(error)) return error;
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === '57P03'
      ? ' Start the PostgreSQL server or fix the host and port of the connection URL.'
      : code === '28P01' || code === '28000'
        ? ' Check the user and password of the connection URL.'
        : code === '3D000'
          ? ' Create the database (createdb) or fix its name in the connection URL.'
          : '';
  return new BackendError({
    message: `PostgreSQL ${what} failed: ${message}${code ? ` (${code})` : ''}.${hint}`,
    cause: error,
  });
}

/** Validates the options, opens (or adopts) the pool, and creates the schema's tables from `ddl`. */
export async function openPostgres(
  options: PostgresStoreOptions,
  ddl: (schema: string) => string,
): Promise<PostgresConnection> {
  const {
    connectionString,
    pool: given,
    schema = 'decodekit',
    maxConnections = 10,
  } = options ?? {};
  if ((connectionString === undefined) === (given === undefined)) {
    throw new InvalidArgumentError({
      argument: 'options',
      message: 'give exactly one of connectionString (a postgres:// URL) and pool (a pg.Pool).',
    });
  }
  if (
    connectionString !== undefined &&
    (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString))
  ) {
    throw new InvalidArgumentError({
      argument: 'connectionString',
      message:
        'must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@127.0.0.1:5432/database.',
    });
  }
  if (
    typeof schema !== 'string' ||
    schema.length === 0 ||
    Buffer.byteLength(schema) > 63 ||
    schema.includes('\0')
  ) {
    throw new InvalidArgumentError({
      argument: 'schema',
      message: `must be a PostgreSQL identifier of 1 to 63 bytes, got ${JSON.stringify(schema)}.`,
    });
  }
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new InvalidArgumentError({
      argument: 'maxConnections',
      message: `must be a positive integer, got ${maxConnections}.`,
    });
  }
  const owned = given === undefined;
  const pool = given ?? new pg.Pool({ connectionString, max: maxConnections });
  // An idle pooled connection that dies (server restart) emits 'error' on the pool; without a listener Node
  // would crash the process. The next query gets a fresh connection or a BackendError instead.
  if (owned) pool.on('error', () => undefined);
  const quoted = pg.escapeIdentifier(schema);
  let closed = false;
  const ensureOpen = (): void => {
    if (closed)
      throw new InvalidArgumentError({
        argument: 'store',
        message: 'the store is closed; open a new one.',
      });
  };
  const connection: PostgresConnection = {
    schema: quoted,
    async query<TRow extends pg.QueryResultRow>(what: string, text: string, values?: unknown[]) {
      ensureOpen();
      try {
        return (await pool.query<TRow>(text, values)).rows;
      } catch (error) {
        throw wrap(what, error);
      }
    },
    async transaction(what, work) {
      ensureOpen();
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw wrap(what, error);
      }
      let failed: unknown;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        failed = error;
        await client.query('ROLLBACK').catch(() => undefined);
        throw wrap(what, error);
      } finally {
        // A connection whose transaction failed for a driver reason is dropped rather than reused.
        client.release(
          failed !== undefined && !DecodingError.isInstance(failed) ? (failed as Error) : undefined,
        );
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
  try {
    // Replicas starting together serialize their CREATE … IF NOT EXISTS on an advisory lock per schema.
    await connection.transaction('creating the tables', async client => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`decodekit:${schema}`]);
      await client.query(ddl(quoted));
    });
  } catch (error) {
    await connection.close();
    throw error;
  }
  return connection;
}

/** Validates a result count for every store: a non-negative integer (`minimum` 0 or 1). */
export function checkK(k: number, minimum: 0 | 1): void {
  if (!Number.isInteger(k) || k < minimum) {
    throw new InvalidArgumentError({
      argument: 'k',
      message: `k must be an integer >= ${minimum}, got ${k}`,
    });
  }
}

/** Keeps the last document of each id (as sequential upserts would), in first-seen order. */
export function lastOfEachId<TDocument extends { readonly id: string }>(
  documents: readonly TDocument[],
): TDocument[] {
  const byId = new Map<string, TDocument>();
  for (const document of documents) byId.set(document.id, document);
  return [...byId.values()];
}

/** Rejects text PostgreSQL cannot store (NUL characters) with a typed error instead of a driver error. */
export function checkStorable(document: {
  readonly id: string;
  readonly text: string;
  readonly metadata?: unknown;
}): string | null {
  if (typeof document.id !== 'string' || typeof document.text !== 'string') {
    throw new InvalidArgumentError({
      argument: 'documents',
      message: 'every document needs a string id and a string text.',
    });
  }
  const metadata = document.metadata === undefined ? null : JSON.stringify(document.metadata);
  if (document.id.includes('\0') || document.text.includes('\0') || metadata?.includes('\\u0000')) {
    throw new InvalidArgumentError({
      argument: 'documents',
      message: `document "${document.id.replace(/\0/g, '\\0')}" contains a NUL character, which PostgreSQL text cannot hold; remove it.`,
    });
  }
  return metadata;
}

/** Orders rows fetched by id as `ids` asks (repeats and unknown ids as the memory stores do). */
export function inRequestedOrder(
  ids: readonly string[],
  rows: readonly { id: string; text: string; metadata: Record<string, unknown> | null }[],
): { id: string; text: string; metadata?: Record<string, unknown> }[] {
  const byId = new Map(rows.map(row => [row.id, row]));
  return ids.flatMap(id => {
    const row = byId.get(id);
    if (!row) return [];
    return [
      row.metadata === null
        ? { id: row.id, text: row.text }
        : { id: row.id, text: row.text, metadata: row.metadata },
    ];
  });
}
