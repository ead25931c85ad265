// Product documents shaped as the AWS Price List API's GetProducts returns them for AmazonRDS:
// each PriceList entry a JSON string of one product (attributes) and its terms (OnDemand, with
// its price dimensions, the price a string of 10 decimals), and a fake PriceList gateway that
// answers a query with the documents whose attributes match every filter, as TERM_MATCH does.
import type { PriceFilter, PriceList } from '#core/gateways/price-list';

let skus = 0;

/** One product document as the API sends it (a JSON string). */
export function productDocument(
  productFamily: string,
  attributes: Record<string, string>,
  usd: string,
  unit: string,
  beginRange = '0',
): string {
  skus += 1;
  const sku = `SKU${String(skus).padStart(13, '0')}`;
  return JSON.stringify({
    product: {
      productFamily,
      attributes: {
        servicecode: 'AmazonRDS',
        servicename: 'Amazon Relational Database Service',
        locationType: 'AWS Region',
        location: 'US East (N. Virginia)',
        regionCode: 'us-east-1',
        productFamily,
        ...attributes,
      },
      sku,
    },
    serviceCode: 'AmazonRDS',
    terms: {
      OnDemand: {
        [`${sku}.JRTCKXETXF`]: {
          priceDimensions: {
            [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: {
              unit,
              endRange: 'Inf',
              description: `$${usd} per ${unit}`,
              appliesTo: [],
              rateCode: `${sku}.JRTCKXETXF.6YS6EN2CT7`,
              beginRange,
              pricePerUnit: { USD: usd },
            },
          },
          sku,
          effectiveDate: '2026-11-01T00:00:00Z',
          offerTermCode: 'JRTCKXETXF',
          termAttributes: {},
        },
      },
      Reserved: {},
    },
    version: '20261201000000',
    publicationDate: '2026-12-01T00:00:00Z',
  });
}

/** A database instance product (productFamily Database Instance). */
export const instanceDocument = (
  a: { instanceType: string; databaseEngine: string; deploymentOption: string; usagetype?: string },
  usd: string,
) =>
  productDocument(
    'Database Instance',
    {
      usagetype:
        a.usagetype ??
        `${a.deploymentOption === 'Multi-AZ' ? 'Multi-AZUsage' : 'InstanceUsage'}:${a.instanceType}`,
      licenseModel: 'No license required',
      instanceType: a.instanceType,
      databaseEngine: a.databaseEngine,
      deploymentOption: a.deploymentOption,
      operation: 'CreateDBInstance:0014',
    },
    usd,
    'Hrs',
  );

/** A gateway answering from these documents; `asked` keeps every query's filters. */
export function fakePriceList(docs: readonly string[]): PriceList & { asked: PriceFilter[][] } {
  const asked: PriceFilter[][] = [];
  return {
    asked,
    async products(_service, filters) {
      asked.push([...filters]);
      return docs.filter((d) => {
        const p = JSON.parse(d) as { product: { attributes: Record<string, string> } };
        return filters.every((f) => p.product.attributes[f.field] === f.value);
      });
    },
  };
}
