// @aws-sdk/client-eks from the Lambda runtime, loaded by Node's CommonJS loader (see bundling.ts).
const id = '@aws-sdk/client-eks';
module.exports = require(id);
