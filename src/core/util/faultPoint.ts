// Named points between two writes, for the fault-injection suite (test/faults/): with FACT_FAULT_KILL=NAME:N in the
// environment the process kills itself (SIGKILL) the Nth time it passes NAME. No progress line falls exactly between
// two writes, so a kill timed by output cannot hit such a window reliably; this hits it every time. Unset, it does
// nothing.
const passed = new Map<string, number>();

export function faultPoint(name: string): void {
  const want = process.env.FACT_FAULT_KILL;
  if (!want) return;
  const n = (passed.get(name) ?? 0) + 1;
  passed.set(name, n);
  if (want === `${name}:${n}`) process.kill(process.pid, 'SIGKILL');
}
