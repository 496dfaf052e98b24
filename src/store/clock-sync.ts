import type pg from 'pg';
import { setClockOffsetMs } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** Re-measured this often: clocks drift slowly, and NTP may step this machine's clock meanwhile. */
const RESYNC_MS = 60_000;
/** Beyond this, the machine's clock is worth a warning (its NTP is off). */
const WARN_OFFSET_MS = 1_000;

/**
 * Aligns util/clock.ts to the PostgreSQL server's clock, so that instances sharing the database agree
 * on lease expiries and due times whatever their own clocks say. The offset is measured NTP-style —
 * the server's time against the midpoint of the round trip — taking the fastest of a few round trips.
 * Returns a function that stops re-measuring.
 */
export async function startClockSync(pool: pg.Pool, log: Logger): Promise<() => void> {
  let warned = false;
  const sync = async () => {
    const offset = await measureOffset(pool);
    setClockOffsetMs(offset);
    if (Math.abs(offset) > WARN_OFFSET_MS && !warned) {
      warned = true;
      log.warn({ offsetMs: Math.round(offset) }, "this machine's clock differs from PostgreSQL's; leases and due times follow PostgreSQL's clock");
    }
  };
  await sync();
  const timer = setInterval(() => sync().catch((error) => log.warn({ err: (error as Error).message }, 'clock sync with PostgreSQL failed')), RESYNC_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export async function measureOffset(pool: pg.Pool, rounds = 3): Promise<number> {
  let best: { roundTrip: number; offset: number } | undefined;
  for (let round = 0; round < rounds; round++) {
    const sent = Date.now();
    const result = await pool.query<{ ms: string }>('SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms');
    const received = Date.now();
    const roundTrip = received - sent;
    const offset = Number(result.rows[0].ms) - (sent + received) / 2;
    if (!best || roundTrip < best.roundTrip) best = { roundTrip, offset };
  }
  return Math.round(best!.offset);
}
