// Owns what the domain needs to publish a report: plain text objects (HTML, JSON, CSV) with
// their content type, overwritten whole, and the refreshed price table read back. S3
// implements it in clients/s3-store.ts.

export interface ReportFiles {
  readonly bucket: string;
  putText(key: string, body: string, contentType: string): Promise<void>;
  /** A text object, or null when there is none; refused (an error) when over maxBytes. */
  getText(key: string, maxBytes: number): Promise<string | null>;
}
