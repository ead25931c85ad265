// The CI examples the README points to: the GitHub Actions workflow passes actionlint
// (pinned, built from the Go module proxy into the peers' cache), and the Jenkinsfile keeps
// the legacy job's parameters.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { scannersBin } from './scanners.ts';

const root = resolve(import.meta.dirname, '..', '..');
const workflow = join(root, 'examples', 'github-actions.yml');
let bin = '';
beforeAll(() => {
  bin = scannersBin();
}, 600_000);

const actionlint = (file: string) =>
  spawnSync(join(bin, 'actionlint'), ['-no-color', '-oneline', file], { encoding: 'utf8' });

describe('examples', () => {
  it('the GitHub Actions example passes actionlint, with an OIDC role and cim --remote', () => {
    const r = actionlint(workflow);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = readFileSync(workflow, 'utf8');
    expect(text).toMatch(/id-token: write/);
    expect(text).toMatch(/role-to-assume:/);
    expect(text).toMatch(/npx cim .*--remote/s);
  });

  it('actionlint does fail on a broken workflow (the lint can fail)', () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'cim-actionlint-')), 'broken.yml');
    writeFileSync(broken, readFileSync(workflow, 'utf8').replace('inputs.customer }}', 'inputs.custmer }}'));
    const r = actionlint(broken);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/custmer/);
  });

  it('the Jenkinsfile keeps the legacy job parameters and runs npx cim or cim --remote', () => {
    const text = readFileSync(join(root, 'examples', 'Jenkinsfile'), 'utf8');
    for (const name of [
      'ACTION',
      'CUSTOMER',
      'ENVIRONMENT',
      'EKS_CLUSTER',
      'AWS_REGION',
      'S3_BUCKET_NAME',
      'S3_REGION',
    ])
      expect(text, name).toMatch(new RegExp(`name: '${name}'`));
    expect(text).toMatch(/choices: \['get_env_state', 'down', 'up'\]/);
    expect(text).toMatch(/sh 'npx cim'/);
    expect(text).toMatch(/--remote/);
  });

  it('the README points to both examples', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('examples/Jenkinsfile');
    expect(readme).toContain('examples/github-actions.yml');
  });
});
