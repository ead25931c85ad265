// @aws-sdk/client-rds from the Lambda runtime, loaded by Node's CommonJS loader (see bundling.ts).
const id = '@aws-sdk/client-rds';
module.exports = require(id);
