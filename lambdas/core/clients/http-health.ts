// Owns application health checks: one HTTP GET per health URL with a timeout; 2xx/3xx is up.
import type { HealthChecker } from '../gateways/health.ts';

export const httpHealthChecker: HealthChecker = {
  async check(url, timeoutSeconds) {
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
        redirect: 'manual',
      });
      await res.body?.cancel();
      return { url, status: res.status < 400 ? 'up' : 'down', httpStatus: res.status };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return { url, status: 'down', httpStatus: null, error: e.cause?.code ?? e.name };
    }
  },
};
