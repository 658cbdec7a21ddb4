// FaCT: Cancel Job…: the job given by id, the only running one, else a pick.
import type { Fact } from '../services';

export async function cancelJobCommand(fact: Fact, arg: unknown): Promise<boolean> {
  if (typeof arg === 'number') return fact.jobs.cancel(arg);
  const running = fact.jobs.list();
  if (running.length === 0) {
    void fact.ui.info('FaCT: no job is running.');
    return false;
  }
  const picked =
    running.length === 1
      ? { value: running[0]! }
      : await fact.ui.quickPick(
          running.map((j) => ({ label: j.title, description: j.message, value: j })),
          { title: 'FaCT: cancel which job?' },
        );
  return picked?.value ? fact.jobs.cancel(picked.value.id) : false;
}
