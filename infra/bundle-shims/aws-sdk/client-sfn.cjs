// @aws-sdk/client-sfn from the Lambda runtime, loaded by Node's CommonJS loader (see bundling.ts).
const id = '@aws-sdk/client-sfn';
module.exports = require(id);
