import { createMetrics } from './metrics.js';

it('event-loop lag: near 0 when idle, the real delay when the loop is blocked (not the ~1 s sampling interval)', async () => {
  const m = createMetrics({ defaultMetrics: true, lagResolutionMs: 50 });
  try {
    const lag = async () => {
      const text = await m.registry.metrics();
      expect(text).not.toMatch(/nodejs_eventloop_lag_p50_seconds/);
      return Number(/^vaultdist_agent_event_loop_lag_seconds (\S+)$/m.exec(text)![1]);
    };
    await new Promise((res) => setTimeout(res, 300));
    await lag(); // resets the window
    await new Promise((res) => setTimeout(res, 300));
    expect(await lag()).toBeLessThan(0.1);
    const until = Date.now() + 400;
    while (Date.now() < until); // block the loop for 400 ms
    await new Promise((res) => setTimeout(res, 150));
    const blocked = await lag();
    expect(blocked).toBeGreaterThan(0.25);
    expect(blocked).toBeLessThan(0.9);
  } finally {
    m.close();
  }
});
