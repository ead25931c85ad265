// What the bundles take from @kubernetes/client-node, by deep import: the kubeconfig, the
// API groups the functions call (apps/v1, batch/v1, autoscaling/v2,
// custom objects), patch and header helpers, and the watch the CLI's local waits use. The package's index also loads exec, attach, port-forward, cp, logs, metrics,
// watch and informers (ws, tar, socks), which no function uses. bundling.ts maps the
// package name to this file; a name imported from the package and missing here fails the
// build ("No matching export"): add it here.
export { KubeConfig } from '#client-node/config.js';
export { ApiException } from '#client-node/gen/apis/exception.js';
export {
  ObjectAppsV1Api as AppsV1Api,
  ObjectAutoscalingV2Api as AutoscalingV2Api,
  ObjectBatchV1Api as BatchV1Api,
  ObjectCustomObjectsApi as CustomObjectsApi,
} from '#client-node/gen/types/ObjectParamAPI.js';
export { setHeaderOptions } from '#client-node/middleware.js';
export { PatchStrategy } from '#client-node/patch.js';
export { Watch } from '#client-node/watch.js';
