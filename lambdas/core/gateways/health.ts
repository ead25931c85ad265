// Interface of application health checks (one HTTP GET per health URL in clients/http-health.ts).

export interface HealthResult {
  url: string;
  status: 'up' | 'down';
  httpStatus: number | null;
  error?: string;
}

export interface HealthChecker {
  check(url: string, timeoutSeconds: number): Promise<HealthResult>;
}
