// @aws-sdk/client-sts from the Lambda runtime, loaded by Node's CommonJS loader (see bundling.ts).
const id = '@aws-sdk/client-sts';
module.exports = require(id);
