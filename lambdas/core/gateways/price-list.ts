// Interface of the AWS Price List API as the price refresh needs it: the products of a service
// that match every filter (attribute = value), all pages read. The core never imports the SDK;
// clients/pricing.ts implements it.

/** One TERM_MATCH filter: a product attribute (regionCode, instanceType, ...) and its exact value. */
export interface PriceFilter {
  field: string;
  value: string;
}

export interface PriceList {
  /**
   * The matching products, each as the API returns it: a JSON string of one product+terms
   * document (untrusted: the caller parses and checks it).
   */
  products(serviceCode: string, filters: readonly PriceFilter[]): Promise<string[]>;
}
