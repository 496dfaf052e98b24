/**
 * The time leases, due times and events are stamped with. Instances sharing a PostgreSQL database
 * compare each other's leases: an instance whose clock ran 30 s ahead took every lease younger than
 * 30 s for expired and ran those tasks a second time. So with a database the store aligns this clock
 * to the database server's (store/clock-sync.ts); without one it is the machine's own clock.
 */
let offsetMs = 0;

/** Milliseconds since the epoch, on the clock every instance of this deployment shares. */
export function currentTimeMs(): number {
  return Date.now() + offsetMs;
}

/** How far this machine's clock is behind the shared one (negative: ahead). */
export function clockOffsetMs(): number {
  return offsetMs;
}

export function setClockOffsetMs(offset: number): void {
  offsetMs = offset;
}
