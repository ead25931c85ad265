// @aws-sdk/client-sns from the Lambda runtime, loaded by Node's CommonJS loader (see bundling.ts).
const id = '@aws-sdk/client-sns';
module.exports = require(id);
