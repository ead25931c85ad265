// The function on the fleet executions' status changes: rebuilds the deployed report
// (report/index.html, report.json, savings.csv in each state bucket) from the records.
import { reportFilesFor } from '#core/clients/s3-store';
import { publishDeployedReport } from '#core/report/publish';
import { REPORT_FUNCTION } from '#core/steps';
import { defineTask } from './runtime.ts';

export const handler = defineTask(REPORT_FUNCTION, 'Publish report', async (deps) => ({
  published: await publishDeployedReport(deps, reportFilesFor),
}));
