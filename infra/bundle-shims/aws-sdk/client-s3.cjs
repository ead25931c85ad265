// @aws-sdk/client-s3 from the Lambda runtime, loaded by Node's CommonJS loader (see bundling.ts).
const id = '@aws-sdk/client-s3';
module.exports = require(id);
