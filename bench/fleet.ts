// The fleet benchmark (issue 7): the sandbox seeded with N environments (2-3 deployments
// each, one RDS instance each in moto, as many kwok nodes as the pods need); down then up of
// the whole fleet through the local fleet workflow at two concurrencies; wall time next to one
// environment's, peak RSS, Kubernetes requests per deployment and S3 requests per environment.
// Then the stack synthesized for 2,000 environments: resources, template bytes, largest role.
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type FleetRun, runFleetLocal } from '#cli/engine/local-fleet';
import { kubeconfigKube } from '#core/clients/kubernetes';
import { parseConfig } from '#core/config/catalog';
import { loadConfigFile } from '#core/config/file';
import { makeDeps } from '#core/wiring';
import { CimStack } from '#infra/stacks/central-stack';

type Table = (title: string, head: string[], rows: (string | number)[][]) => void;

/** Counts the requests a run makes, at the gateways (a checkScale is a read and a dry-run patch). */
function countRequests() {
  const counts = { kube: 0, s3: 0 };
  return {
    counts,
    kubeWrap<T extends object>(gw: T): T {
      return new Proxy(gw, {
        get(target, prop, recv) {
          const v = Reflect.get(target, prop, recv);
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => {
            counts.kube += prop === 'checkScale' ? 2 : 1;
            return v.apply(target, args);
          };
        },
      });
    },
  };
}

export async function fleetBench(table: Table, results: Record<string, unknown>, size = 200) {
  const { startSandbox } = await import('../sandbox/sandbox.ts');
  const sb = await startSandbox({ quiet: true, fleet: size });
  Object.assign(process.env, sb.env);
  const rows: (string | number)[][] = [];
  const data: Record<string, unknown> = {};
  try {
    const config = loadConfigFile(sb.info.configFile);
    const counter = countRequests();
    const kube = kubeconfigKube(config, sb.info.orchestratorKubeconfig);
    const deps = makeDeps({
      config,
      configSource: sb.info.configFile,
      kube: (env) => counter.kubeWrap(kube(env)),
      log: { info: () => {}, warn: () => {} },
    });
    // S3 requests: count every command the SDK sends through the state store.
    const realStore = deps.store;
    deps.store = (env) => {
      const s = realStore(env);
      return new Proxy(s, {
        get(target, prop, recv) {
          const v = Reflect.get(target, prop, recv);
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => {
            counter.counts.s3++;
            return v.apply(target, args);
          };
        },
      });
    };
    const deployments = sb.info.fleetKeys.length * 2.5;
    const one = async (action: 'down' | 'up', build: string) => {
      const t0 = performance.now();
      const r = await runFleetLocal({
        deps,
        input: { action, selection: sb.info.fleetKeys[0] as string, build, user: 'bench' },
      });
      if (r.summary?.counts.succeeded !== 1)
        throw new Error(`single ${action} failed: ${JSON.stringify(r.error)}`);
      return (performance.now() - t0) / 1000;
    };
    const single = { down: await one('down', 's1'), up: await one('up', 's2') };
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    let build = 0;
    for (const concurrency of (process.env.CIM_BENCH_FLEET_CONCURRENCY ?? '10,25').split(',').map(Number)) {
      for (const action of ['down', 'up'] as const) {
        counter.counts.kube = 0;
        counter.counts.s3 = 0;
        const t0 = performance.now();
        const run: FleetRun = await runFleetLocal({
          deps,
          input: {
            action,
            selection: 'tier=fleet',
            build: `f${++build}`,
            user: 'bench',
            maxConcurrency: concurrency,
          },
        });
        const seconds = (performance.now() - t0) / 1000;
        if (!run.summary)
          process.stderr.write(
            `[bench] fleet ${action}@${concurrency} ended without a summary: ${JSON.stringify(run.error)}\n`,
          );
        const c = run.summary?.counts;
        const ok = (c?.succeeded ?? 0) + (c?.skipped ?? 0);
        const row = {
          concurrency,
          action,
          environments: sb.info.fleetKeys.length,
          ok,
          failed: c?.failed ?? -1,
          seconds: Number(seconds.toFixed(1)),
          singleSeconds: Number(single[action].toFixed(1)),
          serialEstimateSeconds: Number((single[action] * sb.info.fleetKeys.length).toFixed(0)),
          ratioToSingle: Number((seconds / single[action]).toFixed(1)),
          kubeRequestsPerDeployment: Number((counter.counts.kube / deployments).toFixed(1)),
          s3RequestsPerEnvironment: Number((counter.counts.s3 / sb.info.fleetKeys.length).toFixed(1)),
          maxInFlight: run.maxInFlight,
        };
        data[`${action}@${concurrency}`] = row;
        rows.push([
          concurrency,
          action,
          `${ok}/${row.environments}`,
          row.seconds,
          row.singleSeconds,
          row.serialEstimateSeconds,
          row.ratioToSingle,
          row.kubeRequestsPerDeployment,
          row.s3RequestsPerEnvironment,
          row.maxInFlight,
        ]);
      }
    }
    clearInterval(sampler);
    data.peakRssMiB = Math.round(peakRss / 2 ** 20);
    table(
      `4. Fleet of ${sb.info.fleetKeys.length} environments on the sandbox (local fleet workflow; peak RSS ${data.peakRssMiB} MiB)`,
      [
        'concurrency',
        'action',
        'ok',
        'fleet s',
        'one env s',
        `${size} x one env s`,
        'fleet / one env',
        'k8s req / deployment',
        'S3 req / env',
        'max in flight',
      ],
      rows,
    );
  } finally {
    await sb.stop();
  }
  results.fleet = data;
}

/** Synthesizes the stack for `n` environments (bundling skipped) and measures the template. */
export function synthFleet(table: Table, results: Record<string, unknown>, n = 2000) {
  const environments: Record<string, object> = {};
  for (let i = 0; i < n; i++) environments[`cust${String(i).padStart(4, '0')}/dev`] = {};
  const config = parseConfig(
    {
      defaults: {
        cluster: 'eks-dev-cluster',
        region: 'us-east-1',
        bucket: 'customer-infra-manager',
        deployments: [
          { name: 'frontend', healthUrl: 'https://{customer}-{environment}.example.com/healthz' },
          { name: 'backend' },
        ],
        labels: { tier: 'dev' },
      },
      environments,
      schedules: [
        {
          name: 'weeknights-down',
          action: 'down',
          cron: '0 20 ? * MON-FRI *',
          timeZone: 'Europe/Berlin',
          labels: 'tier=dev',
        },
        {
          name: 'mornings-up',
          action: 'up',
          cron: '0 7 ? * MON-FRI *',
          timeZone: 'Europe/Berlin',
          labels: 'tier=dev',
        },
      ],
      stack: { eksAccessEntry: true },
    },
    `${n} environments`,
  );
  const t0 = performance.now();
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  new CimStack(app, 'CustomerInfraManager', {
    config,
    configSource: `${n} environments`,
    handlersDir: new URL('../lambdas/handlers', import.meta.url).pathname,
    env: { account: '123456789012', region: 'us-east-1' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const artifact = assembly.getStackByName('CustomerInfraManager');
  const template = artifact.template as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  };
  const seconds = (performance.now() - t0) / 1000;
  const resources = Object.values(template.Resources);
  const policies = resources.filter((r) => r.Type === 'AWS::IAM::Policy');
  const largest = Math.max(...policies.map((p) => JSON.stringify(p.Properties?.PolicyDocument ?? {}).length));
  const data = {
    environments: n,
    seconds: Number(seconds.toFixed(1)),
    resources: resources.length,
    // As cdk synth writes it (indented), which is what CloudFormation's 1,000,000 bytes count.
    templateBytes: readFileSync(artifact.templateFullPath).length,
    schedules: resources.filter((r) => r.Type === 'AWS::Scheduler::Schedule').length,
    largestPolicyChars: largest,
  };
  table(
    `5. The stack for ${n} environments (bundling skipped, cdk-nag on)`,
    [
      'environments',
      'synth s',
      'resources',
      'template bytes (as written)',
      'schedules',
      'largest policy chars',
    ],
    [[n, data.seconds, data.resources, data.templateBytes, data.schedules, data.largestPolicyChars]],
  );
  results.synthFleet = data;
}
