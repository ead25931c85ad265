// Owns the AWS Price List API client (@aws-sdk/client-pricing): the only module that imports it.
// The API answers from us-east-1 (and ap-south-1) only, whatever region is priced.
import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { AWS_REQUEST_TIMEOUTS, wrapAwsError } from '../errors.ts';
import type { PriceFilter, PriceList } from '../gateways/price-list.ts';

/** The Price List API's endpoint region. */
export const PRICE_LIST_REGION = 'us-east-1';
/** Pages read at most per query: a filtered RDS query answers in one or two pages of 100. */
const MAX_PAGES = 50;

export function priceListClient(
  client = new PricingClient({ region: PRICE_LIST_REGION, requestHandler: AWS_REQUEST_TIMEOUTS }),
): PriceList {
  return {
    async products(serviceCode: string, filters: readonly PriceFilter[]) {
      const out: string[] = [];
      let token: string | undefined;
      let pages = 0;
      try {
        do {
          const page = await client.send(
            new GetProductsCommand({
              ServiceCode: serviceCode,
              Filters: filters.map((f) => ({ Type: 'TERM_MATCH', Field: f.field, Value: f.value })),
              FormatVersion: 'aws_v1',
              MaxResults: 100,
              ...(token ? { NextToken: token } : {}),
            }),
          );
          // Each entry is a JSON string of one product+terms document (the SDK's type also
          // allows an already-parsed value: kept as text for the core to parse and check).
          const list: unknown = page.PriceList ?? [];
          if (Array.isArray(list))
            out.push(...list.map((p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p))));
          token = page.NextToken || undefined;
          pages += 1;
        } while (token && pages < MAX_PAGES);
      } catch (err) {
        throw wrapAwsError(err, `asking the Price List API for ${serviceCode} products`);
      }
      return out;
    },
  };
}
