// The Price List API client: every page of GetProducts is read (NextToken), the filters are
// sent as TERM_MATCH, the PriceList entries (JSON strings of product+terms documents) are
// handed to the core as they came, and the refresh reads a real-shaped answer through it.
import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { priceListClient } from '#core/clients/pricing';
import { refreshPrices, wantedPrices } from '#core/report/price-refresh';
import { instanceDocument } from '../../../support/price-list.ts';

const pricing = mockClient(PricingClient);
afterEach(() => pricing.reset());

const multiAz = (usd: string) =>
  instanceDocument(
    { instanceType: 'db.r6g.large', databaseEngine: 'PostgreSQL', deploymentOption: 'Multi-AZ' },
    usd,
  );

describe('priceListClient', () => {
  it('reads every page and sends each filter as TERM_MATCH', async () => {
    pricing
      .on(GetProductsCommand)
      .resolvesOnce({ PriceList: [multiAz('0.4500000000')], NextToken: 'page-2', FormatVersion: 'aws_v1' })
      .resolvesOnce({ PriceList: [multiAz('0.4500000000')], FormatVersion: 'aws_v1' });
    const docs = await priceListClient(new PricingClient({ region: 'us-east-1' })).products('AmazonRDS', [
      { field: 'regionCode', value: 'us-east-1' },
    ]);
    expect(docs).toHaveLength(2);
    expect(typeof docs[0]).toBe('string');
    const calls = pricing.commandCalls(GetProductsCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      ServiceCode: 'AmazonRDS',
      Filters: [{ Type: 'TERM_MATCH', Field: 'regionCode', Value: 'us-east-1' }],
    });
    expect(calls[0]?.NextToken).toBeUndefined();
    expect(calls[1]?.NextToken).toBe('page-2');
  });

  it('gives the refresh one price from the same product found on two pages', async () => {
    pricing
      .on(GetProductsCommand)
      .resolvesOnce({ PriceList: [multiAz('0.4500000000')], NextToken: 't' })
      .resolvesOnce({ PriceList: [multiAz('0.4500000000'), 'not json {'] });
    const r = await refreshPrices(
      priceListClient(new PricingClient({ region: 'us-east-1' })),
      wantedPrices([
        {
          region: 'us-east-1',
          database: {
            identifier: 'db',
            kind: 'instance',
            engine: 'postgres',
            instanceClass: 'db.r6g.large',
            multiAz: true,
            storage: null,
            members: [],
          },
        },
      ]),
      '2026-12-06',
    );
    expect(r.table.databaseHours).toEqual({
      'us-east-1|postgres|db.r6g.large|multi-az': { usd: 0.45, unit: 'hour' },
    });
    expect(r.unreadable).toBe(1);
  });
});
