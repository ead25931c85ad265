// The local engine invokes a real Lambda function only for a Task state without a local
// handler; cim maps every Task to its handler, so the built CLI leaves the Lambda client out.
export class LambdaClient {
  constructor() {
    throw new Error('cim: a Task state has no local handler; the local engine never invokes AWS Lambda');
  }
}
export class InvokeCommand {}
