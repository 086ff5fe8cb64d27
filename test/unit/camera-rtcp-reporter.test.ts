import { describe, expect, it } from 'vitest';
import { RtcpReporter } from '../../hub/camera/rtcp-reporter.js';
import { FakeClock } from '../../hub/system/fake-clock.js';

describe('the hub as an RTCP receiver (RFC 3550 §6)', () => {
  it('a report that cannot be sent is counted and never thrown out of its timer or out of stop(): RTCP is advisory', async () => {
    const clock = new FakeClock();
    let attempts = 0;
    const reporter = new RtcpReporter({
      clock,
      clockRate: 90_000,
      random: () => 0.5,
      send: () => {
        attempts++;
        throw new RangeError('ERR_SOCKET_BAD_PORT: port 0');
      },
    });
    reporter.rtp(0x1234, 1, 1000, clock.monotonic());
    reporter.start();
    await expect(clock.advance(30_000)).resolves.toBeUndefined();
    expect(attempts).toBeGreaterThan(1); // it went on scheduling reports after the first failure
    expect(() => reporter.stop(true)).not.toThrow(); // the BYE fails the same way
    expect(reporter.sendFailures).toBe(attempts);
    expect(reporter.reportsSent).toBe(0);
  });
});
