/**
 * Writing on a `Bun.connect` socket from the load clients: Bun's `write()` takes what the kernel
 * accepts and returns the count, so the rest is kept (appended to by later writes, to keep
 * order) and flushed on `drain`.
 */

/** What a load client keeps per socket for this: the bytes Bun did not take yet. */
export interface Tail {
  out: Uint8Array | null;
}

/** Write `data` after whatever is still waiting. */
// deno-lint-ignore no-explicit-any
export function bunWrite(s: any, st: Tail, data: Uint8Array): void {
  if (st.out) {
    const both = new Uint8Array(st.out.length + data.length);
    both.set(st.out);
    both.set(data, st.out.length);
    st.out = both;
    return;
  }
  const n = s.write(data);
  const w = n > 0 ? n : 0;
  if (w < data.length) st.out = data.slice(w);
}

/** The socket's `drain` handler: write what was waiting. */
// deno-lint-ignore no-explicit-any
export function bunDrain(s: any): void {
  const st: Tail | undefined = s.data;
  if (!st?.out) return;
  const out = st.out;
  st.out = null;
  bunWrite(s, st, out);
}
